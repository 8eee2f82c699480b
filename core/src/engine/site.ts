import type { Level } from '../levels.ts';
import { movementReasons } from './movement.ts';
import { rainReasons } from './rain.ts';
import type { Reason } from './reason.ts';
import type { SensorRec, SensorSetup, SiteSetup } from './sensor.ts';

/**
 * The site's trigger level at one instant, before hold-down: the highest healthy rain gauge, the
 * movement sensors after corroboration, and "no data".
 *
 * Corroboration: a movement sensor above level 2 raises the site above 2 only when another healthy
 * movement sensor is at 2 or higher, or rain is at 1 or higher now or was within
 * `rainWindowHours` (slopes fail after the rain peak). Otherwise the site is held at 2.
 * No data: when every movement sensor is unhealthy (not ok and not still waiting for its first
 * reading) while rain is at 1 or higher, the site is at least 1.
 */
export interface Trigger {
  level: Level;
  rain: Level;
  heldAt2: boolean;
  noData: boolean;
}

export const isMovement = (r: SensorRec): boolean => r.kind === 'tilt' || r.kind === 'displacement';
const unhealthy = (r: SensorRec): boolean => r.status !== 'ok' && r.status !== 'waiting';

export function siteTrigger(recs: readonly SensorRec[], corroborate: boolean, rainRecent: boolean): Trigger {
  let rain: Level = 0;
  let move: Level = 0;
  let atTwo = 0;
  let movers = 0;
  let sick = 0;
  for (const r of recs) {
    if (r.kind === 'rain') {
      if (r.status === 'ok' && r.level > rain) rain = r.level;
      continue;
    }
    if (!isMovement(r)) continue;
    movers++;
    if (unhealthy(r)) sick++;
    if (r.status !== 'ok') continue;
    if (r.level > move) move = r.level;
    if (r.level >= 2) atTwo++;
  }
  let heldAt2 = false;
  if (move > 2 && corroborate && atTwo < 2 && rain < 1 && !rainRecent) {
    move = 2;
    heldAt2 = true;
  }
  const noData = movers > 0 && sick === movers && rain >= 1;
  let level: Level = rain > move ? rain : move;
  if (noData && level < 1) level = 1;
  return { level, rain, heldAt2, noData };
}

/** Every reason behind the current trigger, highest level first. */
export function triggerReasons(
  recs: readonly SensorRec[],
  setups: readonly SensorSetup[],
  site: SiteSetup,
  t: Trigger,
  now: number,
): Reason[] {
  const out: Reason[] = [];
  recs.forEach((r, i) => {
    if (r.status !== 'ok' || r.level === 0) return;
    if (r.rain) out.push(...rainReasons(r.rain, site.rain, r.id));
    const setup = setups[i];
    if (r.move && setup?.move) out.push(...movementReasons(r.move, setup.move, r.id, now));
  });
  if (t.heldAt2)
    out.push({
      rule: 'corroboration',
      level: 2,
      text: 'movement held at level 2: no second movement sensor at level 2 or higher and no rain at level 1 or higher',
    });
  if (t.noData) {
    const sick = recs.filter((r) => isMovement(r)).map((r) => `${r.id} ${r.status}`);
    out.push({
      rule: 'no_data',
      level: 1,
      text: `every movement sensor is unhealthy while rain is at level ${t.rain}: ${sick.join(', ')}`,
    });
  }
  return out.sort((a, b) => (b.level ?? 0) - (a.level ?? 0));
}
