import type { Driver, DriverHealth, ReadingSink } from '@slopeguard/firmware-bridge/driver.ts';
import { type Clock, realDelay } from '../clock.ts';
import type { ScenarioDriver as ScenarioConfig } from '../config/schema.ts';

const MIN_WAKE_MS = 20;

/**
 * Plays a named scenario model (simulators/scenarios: umyeonsan-2011, slow-creep, ...) as if its
 * sensors were wired to this gateway: the scenario starts at the gateway clock's time when the
 * driver starts, and each sensor is sampled on the driver's interval grid. For site acceptance tests
 * ("does the siren sound when the slope does this?"), demos and the gateway's own tests; the real
 * outputs and uplink run as in production.
 */
export async function createScenarioDriver(config: ScenarioConfig, clock: Clock): Promise<Driver> {
  const { getScenario, SCENARIO_NAMES } = await import('@slopeguard/simulators/scenarios/index.ts');
  const scenario = getScenario(config.scenario);
  if (!scenario)
    throw new Error(
      `unknown scenario ${JSON.stringify(config.scenario)} (known: ${SCENARIO_NAMES.join(', ')})`,
    );
  let intervalMs = config.intervalMs ?? scenario.intervalMs;
  const start = Math.ceil(clock.now() / intervalMs) * intervalMs;
  const run = scenario.create({
    start,
    intervalMs,
    ...(config.seed !== undefined ? { seed: config.seed } : {}),
  });
  let next = start;
  let readings = 0;
  let timer: NodeJS.Timeout | undefined;
  let sink: ReadingSink = () => {};

  function wake(): void {
    const now = clock.now();
    while (next <= now && next <= run.end) {
      for (const r of run.readingsAt(next, intervalMs)) {
        readings++;
        sink(r);
      }
      next += intervalMs;
    }
  }

  function schedule(): void {
    if (timer) clearInterval(timer);
    timer = setInterval(wake, Math.max(MIN_WAKE_MS, Math.min(1000, realDelay(clock, intervalMs))));
  }

  return {
    id: config.id,
    async start(s) {
      sink = s;
      schedule();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    setIntervalMs(ms) {
      intervalMs = ms;
      if (timer) schedule();
    },
    health(): DriverHealth {
      return {
        state: next > run.end ? 'down' : 'ok',
        errors: {},
        readings,
        ...(next > run.end ? { lastError: 'scenario ended' } : {}),
      };
    },
  };
}
