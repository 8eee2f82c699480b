/**
 * Coded errors of the alert engine. A code is never reused for another meaning.
 * - SG_ENGINE_CONFIG: a site configuration given in code (not parsed from a file) is invalid.
 * - SG_ENGINE_STATE: a saved engine state cannot be resumed: not an object, an unknown version, a
 *   field that fails the state schema (state.ts; details list each path), inconsistent arrays, or
 *   another site's state.
 */
export type EngineErrorCode = 'SG_ENGINE_CONFIG' | 'SG_ENGINE_STATE';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details: readonly string[];

  constructor(code: EngineErrorCode, message: string, details: readonly string[] = []) {
    super(details.length > 0 ? `${message}: ${details.join('; ')}` : message);
    this.name = 'EngineError';
    this.code = code;
    this.details = details;
  }
}
