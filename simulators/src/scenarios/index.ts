/**
 * Scenario models: named, seeded, physical reading streams for a site, each declaring what a good
 * warning system must do. Used by the engine tests, the demo, virtual serial devices and benchmarks.
 * Import as `@slopeguard/simulators/scenarios/index.ts`.
 */
import { heavyRainStable } from './heavy-rain.ts';
import { sensorFaults } from './sensor-faults.ts';
import { silentStorm } from './silent-storm.ts';
import { slowCreep } from './slow-creep.ts';
import type { Scenario } from './types.ts';
import { umyeonsan } from './umyeonsan.ts';

export const SCENARIOS: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [umyeonsan, heavyRainStable, slowCreep, sensorFaults, silentStorm].map((s) => [s.name, s]),
);

export const SCENARIO_NAMES: readonly string[] = Object.keys(SCENARIOS);

export function getScenario(name: string): Scenario | undefined {
  return SCENARIOS[name];
}

export { type ChangeLike, checkExpectations, type ExpectationResult } from './expect.ts';
export { normalAt, uniformAt } from './noise.ts';
export type {
  Expectation,
  InjectedFault,
  Scenario,
  ScenarioOptions,
  ScenarioRun,
  SensorValues,
} from './types.ts';
