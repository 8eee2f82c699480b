import { table } from './summary.ts';
import type { SweepResult } from './sweep.ts';
import { formatSpan } from './time.ts';

const span = (ms: number | null) => (ms === null ? '-' : formatSpan(ms));

/** The sweep as a table (stderr): every combination, the Pareto front marked, the recommendation. */
export function renderSweep(
  paths: string[],
  results: readonly SweepResult[],
  best: SweepResult | null,
  maxFalsePerYear: number | null,
): string {
  const out: string[] = [];
  out.push(`Sweep 임계값 탐색 (${results.length} settings; * = Pareto front of detection vs false alarms)`);
  out.push(
    ...table(
      [...paths, 'Detection 탐지율', 'False/yr 오경보', 'Missed', 'Lead median', 'Lead worst', ''],
      results.map((r) => [
        ...r.values.map(String),
        r.summary.pod === null ? '-' : `${(r.summary.pod * 100).toFixed(1)} %`,
        r.summary.falsePerYear === null ? '-' : r.summary.falsePerYear.toFixed(2),
        String(r.summary.missed),
        span(r.summary.leadMedianMs),
        span(r.summary.leadWorstMs),
        `${r.pareto ? '*' : ''}${r === best ? ' <= recommended' : ''}`,
      ]),
    ),
  );
  out.push('');
  if (maxFalsePerYear === null) out.push('Recommendation 권고: give --max-false-per-year to get one');
  else if (best === null)
    out.push(`Recommendation 권고: no setting stays within ${maxFalsePerYear} false alarms per year`);
  else
    out.push(
      `Recommendation 권고 (at most ${maxFalsePerYear} false alarms per year): ${paths.map((p, i) => `${p}=${best.values[i]}`).join(', ')}` +
        ` (detection ${((best.summary.pod ?? 0) * 100).toFixed(1)} %, ${(best.summary.falsePerYear ?? 0).toFixed(2)} false/yr, median lead ${span(best.summary.leadMedianMs)})`,
    );
  return out.join('\n');
}
