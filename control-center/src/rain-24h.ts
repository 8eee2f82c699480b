import type { RainTotals } from '@slopeguard/core/engine/index.ts';
import type { SiteDetail } from './routes/sites.ts';
import { type ReadingStore, withTimeout } from './store/reading-store.ts';

const DAY = 86_400_000;

/**
 * The engine keeps 12 h of rain (its rules need no more); the last 24 h come from the readings
 * store: one bucket over (asOf - 24 h, asOf], its sum is mean x count. Null when there is no store
 * or it does not answer within a second (the health page must not wait on it).
 */
export async function withRain24h(
  store: ReadingStore | undefined,
  site: string,
  rain: Record<string, RainTotals>,
): Promise<Record<string, RainTotals & { mm24h: number | null }>> {
  const out: Record<string, RainTotals & { mm24h: number | null }> = {};
  await Promise.all(
    Object.entries(rain).map(async ([gauge, t]) => {
      let mm24h: number | null = null;
      if (store && t.asOf !== null) {
        try {
          const from = t.asOf - DAY + 1;
          const buckets = await withTimeout(
            store.range({ site, sensor: gauge, from, to: t.asOf, stepMs: DAY }),
            1000,
          );
          const sum = buckets.reduce((s, b) => s + (b.values.mm?.mean ?? 0) * b.count, 0);
          mm24h = Math.round(sum * 100) / 100;
        } catch {
          mm24h = null;
        }
      }
      out[gauge] = { ...t, mm24h };
    }),
  );
  return out;
}

/** The health detail of a site with each gauge's 24-h rain added (the sites route's `enrich`). */
export function healthWithRain24h(store: () => ReadingStore | undefined) {
  return async (site: string, d: SiteDetail) =>
    d.engine ? { ...d, engine: { ...d.engine, rain: await withRain24h(store(), site, d.engine.rain) } } : d;
}
