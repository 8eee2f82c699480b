export * from './device.ts';
export * from './line-node.ts';
export * from './modbus-slave.ts';
export * from './run.ts';
export * from './scenario-devices.ts';
export * from './scenario-source.ts';
export * from './sdi12-sensor.ts';
export * from './signal.ts';
