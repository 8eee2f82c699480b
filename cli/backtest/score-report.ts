import type { Level } from '@slopeguard/core';
import type { Score } from './score.ts';
import { levelName, table } from './summary.ts';
import { formatLocal, formatSpan } from './time.ts';

const span = (ms: number | null) => (ms === null ? '-' : formatSpan(ms));

/** The score as officials read it (stderr): per event, the false alarms, then the summary. */
export function renderScore(s: Score): string {
  const o = s.options;
  const n = o.alarmLevel as Level;
  const out: string[] = [];
  out.push(
    `Scoring against known events 사건 대비 평가 (alarm at ${levelName(n)} or higher; warning window ${formatSpan(o.windowMs)}, false-alarm window ${formatSpan(o.falseWindowMs)})`,
  );
  out.push(
    ...table(
      ['Event 사건', 'Kind', 'Result 결과', 'Lead L1', 'Lead L2', 'Lead L3', 'Lead L4', 'Note'],
      s.events.map((e) => [
        formatLocal(e.ts),
        e.kind,
        !e.scored ? 'outside the readings' : e.detected ? 'detected 탐지' : 'MISSED 미탐지',
        ...[1, 2, 3, 4].map((l) => span(e.leadMs[l] ?? null)),
        e.note,
      ]),
    ),
  );
  out.push('', `False alarms 오경보 (${s.falseAlarms.length})`);
  if (s.falseAlarms.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        ['From', 'To', 'Duration', 'Peak', 'In a quiet period'],
        s.falseAlarms.map((f) => [
          formatLocal(f.start),
          formatLocal(f.end),
          formatSpan(f.end - f.start),
          levelName(f.peak as Level),
          f.inQuietPeriod ? 'yes' : '',
        ]),
      ),
    );
  const m = s.summary;
  out.push('', 'Score 평가 요약');
  out.push(
    `  Detection 탐지율      ${m.pod === null ? '-' : `${(m.pod * 100).toFixed(1)} %`} (${m.detected} of ${m.events} events; ${m.missed} missed)`,
  );
  out.push(
    `  False alarms 오경보   ${m.falseAlarms} in ${m.years.toFixed(2)} years = ${m.falsePerYear === null ? '-' : m.falsePerYear.toFixed(2)} per year` +
      (m.falseInQuietPeriods > 0 ? ` (${m.falseInQuietPeriods} in known quiet periods)` : ''),
  );
  out.push(`  Lead time 선행 시간   median ${span(m.leadMedianMs)}, worst ${span(m.leadWorstMs)}`);
  out.push(`  Time at level        ${m.timeAtLevelMs.map((t, l) => `${l}: ${formatSpan(t)}`).join(', ')}`);
  return out.join('\n');
}
