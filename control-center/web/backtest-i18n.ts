/**
 * The backtest view's words, Korean and English, in their own table (web/i18n.ts holds the rest);
 * the language is the page's (i18n.ts currentLang), so switching relabels this view too.
 */
import { el } from './dom.ts';
import { currentLang } from './i18n.ts';

const T = {
  backtest: { ko: '백테스트', en: 'Backtest' },
  intro: {
    ko: '과거 기간(또는 백테스트 CSV)을 현재 기준과 바꾼 기준으로 경보 엔진에 다시 돌려 단계가 언제 바뀌었을지 비교합니다. 아무것도 바꾸지 않습니다.',
    en: 'Replays a past period (or a backtest CSV) through the alert engine with the current thresholds and with changed ones, and compares when the level would have changed. Changes nothing.',
  },
  site: { ko: '현장', en: 'Site' },
  from: { ko: '시작 (KST)', en: 'From (KST)' },
  to: { ko: '끝 (KST)', en: 'To (KST)' },
  csv: { ko: '또는 CSV 파일 (ts,sensor,kind,field,value)', en: 'Or a CSV file (ts,sensor,kind,field,value)' },
  clearCsv: { ko: 'CSV 지우기', en: 'Clear CSV' },
  thresholds: { ko: '기준값 (바꾼 값만 적용)', en: 'Thresholds (only changed ones apply)' },
  current: { ko: '현재 기준', en: 'Current settings' },
  proposed: { ko: '바꾼 기준', en: 'Changed thresholds' },
  currentValue: { ko: '현재', en: 'now' },
  off: { ko: '없음', en: 'off' },
  reset: { ko: '현재 값으로', en: 'Reset' },
  run: { ko: '실행', en: 'Run' },
  running: { ko: '실행 중…', en: 'Running…' },
  loadingRules: { ko: '현장 기준을 불러오는 중…', en: 'Loading the site’s rules…' },
  pickSite: { ko: '현장을 고르세요', en: 'Pick a site' },
  noRules: { ko: '이 현장의 기준을 불러오지 못했습니다', en: 'Could not load this site’s rules' },
  failed: { ko: '실행하지 못했습니다', en: 'The backtest failed' },
  rateLimited: {
    ko: '실행이 너무 잦습니다. 잠시 후 다시 시도하세요',
    en: 'Too many runs; wait and try again',
  },
  tooLong: { ko: '기간은 최대 31일입니다', en: 'The period may span at most 31 days' },
  tooMany: {
    ko: '계측값이 너무 많습니다. 기간을 줄이세요',
    en: 'Too many readings; choose a shorter period',
  },
  rangeOrder: { ko: '시작이 끝보다 늦습니다', en: 'The start is after the end' },
  badThresholds: {
    ko: '기준값이 올바르지 않습니다 (0보다 큰 수, 단위 범위 안)',
    en: 'A threshold is not valid (a number above 0, within its bound)',
  },
  storeDown: {
    ko: '계측값 저장소가 응답하지 않습니다. 다시 시도하세요',
    en: 'The reading store did not answer; try again',
  },
  csvRows: { ko: 'CSV: 계측값 {n}개', en: 'CSV: {n} readings' },
  csvBad: { ko: '건너뛴 줄 {n}개', en: '{n} rows skipped' },
  csvTooBig: {
    ko: 'CSV가 너무 큽니다 (최대 {n}개 계측값)',
    en: 'The CSV is too large (at most {n} readings)',
  },
  csvHeader: {
    ko: 'CSV 첫 줄은 ts,sensor,kind,field,value 이어야 합니다',
    en: 'The CSV must start with the header ts,sensor,kind,field,value',
  },
  summary: { ko: '비교', en: 'Comparison' },
  readings: { ko: '계측값 {n}개, {ms} ms', en: '{n} readings, {ms} ms' },
  skipped: { ko: '사용하지 못한 계측값 {n}개', en: '{n} readings not used' },
  startLevel: { ko: '시작 단계', en: 'Level at start' },
  highest: { ko: '최고 단계', en: 'Highest level' },
  changesCount: { ko: '단계 변경 수', en: 'Level changes' },
  firstAt: { ko: '처음 {l}단계 이상', en: 'First at level {l} or more' },
  timeAt: { ko: '1단계 이상 시간', en: 'Time at level 1 or more' },
  band: { ko: '시간에 따른 단계', en: 'Level over time' },
  changes: { ko: '단계 변경', en: 'Level changes' },
  noChanges: { ko: '단계 변경 없음', en: 'No level changes' },
  truncated: { ko: '(처음 2,000개만 표시)', en: '(first 2,000 only)' },
  when: { ko: '시각', en: 'When' },
  level: { ko: '단계', en: 'Level' },
  previous: { ko: '이전', en: 'Before' },
  why: { ko: '사유', en: 'Why' },
  charts: { ko: '계측 차트', en: 'Readings' },
  differ: { ko: '바꾼 기준에서 결과가 달라집니다', en: 'The changed thresholds change the result' },
  same: { ko: '바꾼 기준에서도 결과가 같습니다', en: 'The changed thresholds give the same result' },
  'rain.level1.mm3h': { ko: '강우 1단계: 3시간 누적', en: 'Rain level 1: 3-hour total' },
  'rain.level1.mm12h': { ko: '강우 1단계: 12시간 누적', en: 'Rain level 1: 12-hour total' },
  'rain.level2.mm3h': { ko: '강우 2단계: 3시간 누적', en: 'Rain level 2: 3-hour total' },
  'rain.level2.mm12h': { ko: '강우 2단계: 12시간 누적', en: 'Rain level 2: 12-hour total' },
  'rain.swi.criticalMm': { ko: '토양우수지수 한계값', en: 'Soil water index critical value' },
  'tilt.level1.degPerHour': { ko: '경사 1단계: 변화 속도', en: 'Tilt level 1: rate' },
  'tilt.level2.degPerHour': { ko: '경사 2단계: 변화 속도', en: 'Tilt level 2: rate' },
  'displacement.level1.mmPerDay': { ko: '변위 1단계: 일 속도', en: 'Displacement level 1: per day' },
  'displacement.level2.mmPerDay': { ko: '변위 2단계: 일 속도', en: 'Displacement level 2: per day' },
  'displacement.level2.mmPerHour': { ko: '변위 2단계: 시간 속도', en: 'Displacement level 2: per hour' },
  'displacement.level3.mmPerHour': { ko: '변위 3단계: 지속 속도', en: 'Displacement level 3: sustained' },
  'displacement.level4.mmPerHour': { ko: '변위 4단계: 속도', en: 'Displacement level 4: rate' },
  'displacement.level4.forecastHours': {
    ko: '변위 4단계: 예상 붕괴까지',
    en: 'Displacement level 4: forecast failure within',
  },
  'displacement.cumulative.mm': { ko: '누적 변위', en: 'Cumulative displacement' },
  'holdDown.hours': { ko: '단계 유지 시간 (단계마다)', en: 'Hold-down per step' },
} as const satisfies Record<string, { ko: string; en: string }>;

export type BtKey = keyof typeof T;

export function bt(k: BtKey, vars: Record<string, string | number> = {}): string {
  let s: string = T[k][currentLang()];
  for (const [name, v] of Object.entries(vars)) s = s.replace(`{${name}}`, String(v));
  return s;
}

/** The label of a threshold path (backtest-thresholds.ts), or the path itself. */
export function thresholdLabel(path: string): string {
  return path in T ? bt(path as BtKey) : path;
}

/** The link to a site's backtest (the site page shows it beside the event report's). */
export function backtestLink(site: string): HTMLElement {
  return el('a', {
    text: bt('backtest'),
    cls: 'bt-link',
    attrs: { href: `#/backtest/${encodeURIComponent(site)}` },
  });
}
