export * from './ids.ts';
export * from './json-bounds.ts';
export * from './levels.ts';
export * from './schemas/messages.ts';
export * from './schemas/position.ts';
export * from './schemas/reading.ts';
export * from './topics.ts';
export * from './validate.ts';
