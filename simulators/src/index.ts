export * from './demo-story.ts';
export * from './rng.ts';
export * from './sim-gateway.ts';
