export * from './demo-story.ts';
export * from './rng.ts';
export * from './sources.ts';
export * from './story-driver.ts';
