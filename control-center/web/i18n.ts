/**
 * Korean and English. The choice is remembered in localStorage; Korean is the default (the users
 * are Korean disaster officials). Dates are always shown in Asia/Seoul, the sites' time zone.
 */
import { LEVEL_NAMES, type Level } from '@slopeguard/core/levels.ts';

export type Lang = 'ko' | 'en';
const KEY = 'sg.lang';

const T = {
  title: { ko: '급경사지 조기경보', en: 'Slope early warning' },
  signIn: { ko: '로그인', en: 'Sign in' },
  signOut: { ko: '로그아웃', en: 'Sign out' },
  user: { ko: '사용자', en: 'User' },
  password: { ko: '비밀번호', en: 'Password' },
  wrongPassword: { ko: '사용자 또는 비밀번호가 틀립니다', en: 'Wrong user or password' },
  tooMany: { ko: '시도가 너무 많습니다. 잠시 후 다시 시도하세요', en: 'Too many attempts; wait and retry' },
  live: { ko: '실시간', en: 'Live' },
  notLive: { ko: '실시간 아님 — 연결 끊김, 재연결 중', en: 'Not live — connection lost, reconnecting' },
  connecting: { ko: '연결 중', en: 'Connecting' },
  map: { ko: '지도', en: 'Map' },
  alerts: { ko: '경보함', en: 'Alert inbox' },
  search: { ko: '현장 검색', en: 'Search sites' },
  sortBy: { ko: '정렬', en: 'Sort by' },
  sortLevel: { ko: '단계', en: 'Level' },
  sortChange: { ko: '최근 변경', en: 'Last change' },
  sortName: { ko: '이름', en: 'Name' },
  site: { ko: '현장', en: 'Site' },
  level: { ko: '단계', en: 'Level' },
  lastChange: { ko: '최근 변경', en: 'Last change' },
  noData: { ko: '데이터 없음', en: 'No data' },
  degraded: { ko: '일부 장애', en: 'Degraded' },
  gwOffline: { ko: '게이트웨이 오프라인', en: 'Gateway offline' },
  notSet: { ko: '미정', en: 'Not set' },
  lastKnown: { ko: '마지막', en: 'last' },
  noAlerts: { ko: '활성 경보 없음', en: 'No active alerts' },
  ack: { ko: '확인', en: 'Acknowledge' },
  acked: { ko: '확인됨', en: 'Acknowledged' },
  comment: { ko: '의견', en: 'Comment' },
  reason: { ko: '사유', en: 'Reason' },
  release: { ko: '4단계 해제', en: 'Release level 4' },
  manual: { ko: '수동 단계', en: 'Manual level' },
  set: { ko: '적용', en: 'Set' },
  history: { ko: '이력', en: 'History' },
  opened: { ko: '발령', en: 'Opened' },
  by: { ko: '처리자', en: 'By' },
  failed: { ko: '실패', en: 'Failed' },
  back: { ko: '목록으로', en: 'Back to map' },
  reasons: { ko: '단계 사유', en: 'Why this level' },
  health: { ko: '게이트웨이·센서 상태', en: 'Gateway and sensor health' },
  tilt: { ko: '경사 변화', en: 'Tilt' },
  rain: { ko: '강우 (시간별·누적)', en: 'Rain (per sample and cumulative)' },
  chartsSince: {
    ko: '최근 24시간 (서버에서 구간 평균) 뒤에 실시간 값이 이어집니다',
    en: 'The last 24 h (bucket means from the server), then live values as they arrive',
  },
  tiltRate: { ko: '경사 변화 속도 (°/h)', en: 'Tilting rate (°/h)' },
  displacement: { ko: '변위·속도', en: 'Displacement and velocity' },
  inverseVelocity: { ko: '역속도 (1/v)', en: 'Inverse velocity (1/v)' },
  forecastLine: { ko: '예측 직선', en: 'forecast line' },
  threshold: { ko: '기준', en: 'threshold' },
  swi: { ko: '토양우수지수 (SWI)', en: 'Soil water index (SWI)' },
  critical: { ko: '한계', en: 'critical' },
  forecastFailure: { ko: '예상 붕괴 시각', en: 'Forecast failure time' },
  noForecast: { ko: '붕괴 시각 예측 없음', en: 'No failure-time forecast' },
  alertHistory: { ko: '경보 이력', en: 'Alert history' },
  commands: { ko: '게이트웨이 명령', en: 'Gateway commands' },
  send: { ko: '보내기', en: 'Send' },
  sensorHealth: { ko: '센서 상태', en: 'Sensor health' },
  historyFailed: { ko: '과거 값을 불러오지 못했습니다', en: 'Could not load the history' },
  report: { ko: '사건 보고서', en: 'Event report' },
  reportShow: { ko: '보기', en: 'Show' },
  print: { ko: '인쇄 / PDF', en: 'Print / PDF' },
  charts: { ko: '계측 차트', en: 'Charts' },
  levelTimeline: { ko: '단계 변화', en: 'Level timeline' },
  when: { ko: '시각', en: 'When' },
  what: { ko: '내용', en: 'What' },
  maxLevel: { ko: '최고 단계', en: 'highest level' },
  notifications: { ko: '발송된 알림', en: 'Notifications sent' },
  notificationsPlanned: {
    ko: '발송 알림 목록은 아직 API가 없어 포함되지 않습니다 (예정)',
    en: 'Not included yet: the control center has no API listing notifications (planned)',
  },
  online: { ko: '온라인', en: 'online' },
  offline: { ko: '오프라인', en: 'offline' },
  unknown: { ko: '알 수 없음', en: 'unknown' },
  sensor: { ko: '센서', en: 'Sensor' },
  value: { ko: '값', en: 'Value' },
  age: { ko: '경과', en: 'Age' },
  stale: { ko: '오래됨', en: 'stale' },
  placed: {
    ko: '현장 파일에 위치가 없는 현장 {n}곳은 이름으로 정한 임의 위치에 표시됩니다 (실제 위치 아님)',
    en: '{n} site(s) without a position in their site file are drawn at a place made from their name (not their real place)',
  },
  language: { ko: 'English', en: '한국어' },
} as const satisfies Record<string, Record<Lang, string>>;

export type Key = keyof typeof T;

let lang: Lang = localStorage.getItem(KEY) === 'en' ? 'en' : 'ko';
const listeners: Array<() => void> = [];

export function t(k: Key): string {
  return T[k][lang];
}
export function currentLang(): Lang {
  return lang;
}
export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
  for (const f of listeners) f();
}
export function onLang(f: () => void): void {
  listeners.push(f);
}

export function levelName(level: number): string {
  const n = LEVEL_NAMES[level as Level];
  return n ? n[lang] : '?';
}

const fmt = {
  ko: new Intl.DateTimeFormat('ko-KR', { timeZone: 'Asia/Seoul', dateStyle: 'short', timeStyle: 'medium' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Seoul', dateStyle: 'short', timeStyle: 'medium' }),
};
/** A time in Asia/Seoul, the sites' time zone, whatever the browser's own zone. */
export function time(ms: number | null | undefined): string {
  return ms ? `${fmt[lang].format(ms)} KST` : '—';
}
