export * from './live-view.ts';
export * from './server.ts';
