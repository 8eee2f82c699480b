/**
 * @slopeguard/edge: the gateway agent (`slopeguard edge`). docs/gateway.md describes its config,
 * commands, status and events; docs/raspberry-pi.md its installation.
 */
export { type AgentOptions, EdgeAgent } from './agent.ts';
export { type Clock, scaledClock, systemClock } from './clock.ts';
export { ConfigError, type ConfigResult, ENV_OVERRIDES, loadConfigFile, parseConfig } from './config/load.ts';
export { GatewayConfig } from './config/schema.ts';
export { EXIT_CONFIG, type RunOptions, runEdge } from './main.ts';
export { type QueueStats, ReadingQueue } from './queue/queue.ts';
export { VERSION } from './version.ts';
