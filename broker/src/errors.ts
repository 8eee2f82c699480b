/**
 * Coded errors of the broker package. A code is never reused for another meaning.
 * SG_ERR_BROKER_* : broker set-up; SG_ERR_STORE_* : stores; SG_ERR_REGISTRY_* : device registry.
 */
export type BrokerErrorCode =
  | 'SG_ERR_BROKER_CONFIG'
  | 'SG_ERR_BROKER_CLOSED'
  | 'SG_ERR_STORE_CLOSED'
  | 'SG_ERR_STORE_WRITE'
  | 'SG_ERR_STORE_REJECTED'
  | 'SG_ERR_STORE_QUERY'
  | 'SG_ERR_STORE_SCHEMA'
  | 'SG_ERR_STORE_INPUT'
  | 'SG_ERR_SPILL'
  | 'SG_ERR_REGISTRY_EXISTS'
  | 'SG_ERR_REGISTRY_UNKNOWN'
  | 'SG_ERR_REGISTRY_INPUT'
  | 'SG_ERR_REGISTRY_WRITE'
  | 'SG_ERR_REGISTRY_UNAVAILABLE'
  | 'SG_ERR_CERTS';

export class BrokerError extends Error {
  readonly code: BrokerErrorCode;
  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BrokerError';
  }
}
