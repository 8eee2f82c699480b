import {
  LineDriverConfig,
  ModbusDriverConfig,
  Sdi12DriverConfig,
} from '@slopeguard/firmware-bridge/config.ts';

/**
 * The serial drivers' config variants (modbus-rtu, sdi12, line), owned by firmware-bridge. Embedded
 * as they are, so that the gateway schema and the bridge cannot disagree about a driver block.
 */
export const BridgeDriverConfig = [ModbusDriverConfig, Sdi12DriverConfig, LineDriverConfig] as const;
