export * from './clock.ts';
export * from './config.ts';
export * from './create-driver.ts';
export * from './driver.ts';
export * from './errors.ts';
export { loadRegisterMap, RegisterMap, SHIPPED_MAPS_DIR } from './modbus/register-map.ts';
export type { BindingInterface } from './serial/binding.ts';
