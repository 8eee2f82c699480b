import { LEVEL_NAMES, type Level } from '@slopeguard/core';
import type { LevelChange, Reason, SensorFaults, SensorHealth } from '@slopeguard/core/engine/index.ts';
import { formatLocal, formatSpan } from './time.ts';

/** What a backtest run gathers for its summary table. */
export interface BacktestStats {
  site: string;
  sensors: number;
  rulesFrom: string;
  file: string;
  first: number | null;
  last: number | null;
  readings: number;
  skipped: number;
  changes: LevelChange[];
  /** Per sensor: when a forecast first appeared, and the latest one. */
  forecasts: Map<string, { firstAt: number; lastAt: number; tf: number; r2: number }>;
  health: Record<string, SensorHealth>;
  faults?: Record<string, SensorFaults>;
  kinds: Record<string, string>;
}

const MAX_CHANGES_SHOWN = 40;

/** Terminal width of a string: Hangul and other wide characters take two columns. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ? 2 : 1;
  }
  return w;
}
const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - width(s)));

export function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => `  ${cells.map((c, i) => pad(c, widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(head), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(line)];
}

export const levelName = (l: Level) => `${l} ${LEVEL_NAMES[l].ko} ${LEVEL_NAMES[l].en}`;

export function describeReason(r: Reason): string {
  const who = r.sensor ? ` ${r.sensor}` : '';
  if (r.value === undefined) return `${r.rule}${who}${r.text ? `: ${r.text}` : ''}`;
  const unit = r.unit ? ` ${r.unit}` : '';
  const op = r.rule === 'inverse_velocity' ? '<=' : '>=';
  const window = r.window ? `, ${r.window}` : '';
  return `${r.rule}${who}: ${r.value}${unit} (${op} ${r.threshold}${window})`;
}

export function renderSummary(s: BacktestStats): string {
  const out: string[] = [];
  const span = s.first !== null && s.last !== null ? s.last - s.first : 0;
  const period =
    s.first !== null && s.last !== null
      ? `${formatLocal(s.first)} -> ${formatLocal(s.last)} (${formatSpan(span)})`
      : 'no readings';
  let highest: Level = 0;
  let highestAt: LevelChange | null = null;
  for (const c of s.changes)
    if (c.level > highest) {
      highest = c.level;
      highestAt = c;
    }
  out.push('Backtest summary 백테스트 요약');
  out.push(`  Site 현장        ${s.site} (${s.sensors} sensors; rules: ${s.rulesFrom})`);
  out.push(
    `  Readings 자료     ${s.readings.toLocaleString('en-US')} from ${s.file}` +
      (s.skipped > 0 ? `; ${s.skipped.toLocaleString('en-US')} bad rows skipped` : '; no bad rows'),
  );
  out.push(`  Period 기간       ${period}`);
  out.push(
    `  Highest 최고 단계  ${levelName(highest)}${highestAt ? ` from ${formatLocal(highestAt.ts)}` : ' throughout'}`,
  );
  for (const r of (highestAt?.reasons ?? []).filter((x) => x.level === highest))
    out.push(`                   ${describeReason(r)}`);

  // Time at each level and when it was first reached.
  const time = [0, 0, 0, 0, 0];
  const firstAt: (number | null)[] = [null, null, null, null, null];
  if (s.first !== null && s.last !== null) {
    let level: Level = 0;
    let since = s.first;
    firstAt[0] = s.first;
    for (const c of s.changes) {
      const t = Math.min(Math.max(c.ts, s.first), s.last);
      time[level] = (time[level] ?? 0) + (t - since);
      since = t;
      level = c.level;
      if (firstAt[level] === null) firstAt[level] = c.ts;
    }
    time[level] = (time[level] ?? 0) + (s.last - since);
  }
  out.push('', 'Time at each level 단계별 시간');
  out.push(
    ...table(
      ['Level 단계', 'Time 시간', 'Share', 'First reached 최초'],
      ([0, 1, 2, 3, 4] as const).map((l) => [
        levelName(l),
        formatSpan(time[l] ?? 0),
        span > 0 ? `${(((time[l] ?? 0) / span) * 100).toFixed(1)} %` : '-',
        firstAt[l] !== null ? formatLocal(firstAt[l] as number) : '-',
      ]),
    ),
  );

  out.push('', `Level changes 단계 변경 (${s.changes.length})`);
  if (s.changes.length === 0) out.push('  none: the site stayed at 0 정상 Normal');
  for (const c of s.changes.slice(0, MAX_CHANGES_SHOWN)) {
    const main = c.reasons.find((r) => r.level === c.level) ?? c.reasons[0];
    out.push(
      `  ${formatLocal(c.ts)}  ${pad(levelName(c.previous), 15)} -> ${pad(levelName(c.level), 15)}  ${main ? describeReason(main) : ''}`,
    );
  }
  if (s.changes.length > MAX_CHANGES_SHOWN)
    out.push(`  ... and ${s.changes.length - MAX_CHANGES_SHOWN} more (all of them are on stdout)`);

  out.push('', 'Time-of-failure forecasts 붕괴 시각 예측 (inverse velocity)');
  if (s.forecasts.size === 0) out.push('  none: no sensor accelerated');
  else
    out.push(
      ...table(
        ['Sensor 센서', 'First forecast 최초 예측', 'Forecast failure 예측 시각', 'R²', 'Last seen'],
        [...s.forecasts].map(([id, f]) => [
          id,
          formatLocal(f.firstAt),
          formatLocal(f.tf),
          f.r2.toFixed(3),
          formatLocal(f.lastAt),
        ]),
      ),
    );

  out.push('', 'Sensor health at the end 센서 상태 (마지막)');
  out.push(
    ...table(
      [
        'Sensor 센서',
        'Kind',
        'Readings',
        'Status 상태',
        'Spikes',
        'Steps',
        'Out of range',
        'Out of order',
        'Future',
        'Unconfirmed',
      ],
      Object.entries(s.health).map(([id, h]) => [
        id,
        s.kinds[id] ?? '',
        h.readings.toLocaleString('en-US'),
        h.status,
        String(h.spikes),
        String(h.steps),
        String(h.outOfRange),
        String(h.outOfOrder),
        String(s.faults?.[id]?.future ?? 0),
        String(s.faults?.[id]?.unconfirmed ?? 0),
      ]),
    ),
  );
  return out.join('\n');
}
