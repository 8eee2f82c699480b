/**
 * The alert engine: the single public entry. Other packages import it as
 * `@slopeguard/core/engine/index.ts`. See docs/alert-engine.md for the rules and their defaults.
 */
export { SensorConfig, SiteConfig } from './config.ts';
export {
  createEngine,
  type Engine,
  type EngineCounters,
  type EngineOptions,
  type EngineState,
  type LevelChange,
  type SensorFaults,
  type SensorHealth,
} from './engine.ts';
export { EngineError, type EngineErrorCode } from './errors.ts';
export { type ParsedSiteConfig, parseSiteConfig, parseSiteConfigText, siteConfig } from './parse-config.ts';
export type { RainTotals } from './rain.ts';
export type { Reason } from './reason.ts';
export type { HealthStatus } from './sensor.ts';
export { EngineStateSchema } from './state.ts';
export { MovementTape, TAPE_SAFE_SETTING, TapeDiverged } from './tape.ts';
