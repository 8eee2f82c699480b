export * from './rng.ts';
export * from './sim-gateway.ts';
