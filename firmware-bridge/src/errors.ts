/**
 * Coded errors of firmware-bridge. A code is never reused for another meaning; health counters are
 * keyed by `reason` (short, stable, lower case) so dashboards can chart them.
 */
export const BRIDGE_ERRORS = {
  SG_BRIDGE_TIMEOUT: 'timeout',
  SG_BRIDGE_CRC: 'crc',
  SG_BRIDGE_TRUNCATED: 'truncated',
  SG_BRIDGE_NOISE: 'noise',
  SG_BRIDGE_EXCEPTION: 'exception',
  SG_BRIDGE_PORT_CLOSED: 'port_closed',
  SG_BRIDGE_OPEN_FAILED: 'open_failed',
  SG_BRIDGE_DISCONNECTED: 'disconnected',
  SG_BRIDGE_BAD_RESPONSE: 'bad_response',
  SG_BRIDGE_BAD_LINE: 'bad_line',
  SG_BRIDGE_CHECKSUM: 'checksum',
  SG_BRIDGE_UNKNOWN_SENSOR: 'unknown_sensor',
  SG_BRIDGE_SEQ_GAP: 'seq_gap',
  SG_BRIDGE_MAP: 'map',
  SG_BRIDGE_CONFIG: 'config',
  SG_BRIDGE_STOPPED: 'stopped',
} as const;

export type BridgeErrorCode = keyof typeof BRIDGE_ERRORS;
export type BridgeErrorReason = (typeof BRIDGE_ERRORS)[BridgeErrorCode];

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;
  readonly reason: BridgeErrorReason;
  /** Extra, e.g. the Modbus exception name. */
  readonly detail?: string;

  constructor(code: BridgeErrorCode, message: string, detail?: string) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
    this.reason = BRIDGE_ERRORS[code];
    if (detail !== undefined) this.detail = detail;
  }
}

/** The health counter key for any error: coded errors by reason, anything else as 'other'. */
export function reasonOf(err: unknown): string {
  return err instanceof BridgeError ? err.reason : 'other';
}
