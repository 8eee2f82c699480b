/** Modbus exception codes (Modbus Application Protocol v1.1b3 §7) by their standard names. */
export const MODBUS_EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'ILLEGAL_FUNCTION',
  2: 'ILLEGAL_DATA_ADDRESS',
  3: 'ILLEGAL_DATA_VALUE',
  4: 'SERVER_DEVICE_FAILURE',
  5: 'ACKNOWLEDGE',
  6: 'SERVER_DEVICE_BUSY',
  8: 'MEMORY_PARITY_ERROR',
  10: 'GATEWAY_PATH_UNAVAILABLE',
  11: 'GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND',
};

export function exceptionName(code: number): string {
  return MODBUS_EXCEPTIONS[code] ?? `UNKNOWN_EXCEPTION_0x${code.toString(16).padStart(2, '0')}`;
}
