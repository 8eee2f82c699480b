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
  // Notifications and escalation (web/notifications.ts).
  notifyNone: { ko: '발송된 알림 없음', en: 'No notifications sent' },
  notifyTo: { ko: '수신자', en: 'To' },
  notifyChannel: { ko: '채널', en: 'Channel' },
  notifyState: { ko: '상태', en: 'State' },
  notifySent: { ko: '발송됨', en: 'sent' },
  notifyFailed: { ko: '실패', en: 'failed' },
  notifyQueued: { ko: '대기 중', en: 'queued' },
  notifyAttempts: { ko: '시도', en: 'attempts' },
  notifyFirst: { ko: '첫 통보', en: 'first notice' },
  notifyReminder: { ko: '재알림', en: 'reminder' },
  notifyClear: { ko: '해제 통보', en: 'all-clear' },
  notifyMasked: {
    ko: '연락처는 개인정보이므로 관리자에게만 전체가 보입니다',
    en: 'Addresses are personal data: shown in full to admins only',
  },
  escalation: { ko: '비상연락', en: 'Escalation' },
  escFrom: { ko: '발령 기준', en: 'from level' },
  escRunning: { ko: '진행 중 (확인 전)', en: 'running (not acknowledged)' },
  escStopped: { ko: '중지됨', en: 'stopped' },
  escTier: { ko: '{n}단계 연락', en: 'tier {n}' },
  escTold: { ko: '통보', en: 'told' },
  escDue: { ko: '예정', en: 'due' },
  escNotTold: { ko: '통보 안 함', en: 'not told' },
  escNoDelivery: {
    ko: '별도 발송 기록 없음: 같은 채널·주소의 다른 연락처와 중복 제거됨',
    en: "no delivery of its own: de-duplicated with another contact's on the same channel and address",
  },
  escNextReminder: { ko: '다음 재알림', en: 'Next reminder' },
  escStoppedAck: { ko: '확인으로 중지:', en: 'Stopped by the acknowledgement of' },
  escStoppedClear: { ko: '경보 해제로 중지', en: 'Stopped: the alert cleared' },
  escStoppedBelow: {
    ko: '기준 단계 아래로 내려가 중지',
    en: "Stopped: the level fell below the chain's level",
  },
  escNone: {
    ko: '이 경보에는 비상연락이 없습니다 (연락 체계 없음 또는 기준 단계 미만)',
    en: 'No escalation for this alert (no chain for the site, or below its level)',
  },
  // Admin page (web/admin.ts).
  admin: { ko: '관리', en: 'Admin' },
  users: { ko: '사용자', en: 'Users' },
  role: { ko: '역할', en: 'Role' },
  created: { ko: '생성', en: 'Created' },
  state: { ko: '상태', en: 'State' },
  actions: { ko: '작업', en: 'Actions' },
  addUser: { ko: '사용자 추가', en: 'Add user' },
  disable: { ko: '사용 중지', en: 'Disable' },
  disabled: { ko: '중지됨', en: 'disabled' },
  enable: { ko: '다시 사용', en: 'Enable' },
  enabled: { ko: '사용 중', en: 'enabled' },
  newPassword: { ko: '새 비밀번호', en: 'New password' },
  resetPassword: { ko: '비밀번호 재설정', en: 'Reset password' },
  tokens: { ko: 'API 토큰', en: 'API tokens' },
  tokenName: { ko: '토큰 이름', en: 'Token name' },
  scope: { ko: '범위', en: 'Scope' },
  createToken: { ko: '토큰 만들기', en: 'Create token' },
  tokenOnce: {
    ko: '이 토큰은 지금 한 번만 표시됩니다. 복사해 안전하게 보관하세요',
    en: 'This token is shown once, now: copy it and keep it safe',
  },
  revoke: { ko: '폐기', en: 'Revoke' },
  revoked: { ko: '폐기됨', en: 'revoked' },
  auditLog: { ko: '감사 기록', en: 'Audit log' },
  auditAction: { ko: '작업', en: 'Action' },
  auditActor: { ko: '수행자', en: 'Actor' },
  auditOutcome: { ko: '결과', en: 'Outcome' },
  address: { ko: '주소', en: 'Address' },
  target: { ko: '대상', en: 'Target' },
  detail: { ko: '세부', en: 'Detail' },
  all: { ko: '전체', en: 'all' },
  exportCsv: { ko: 'CSV 내보내기', en: 'Export CSV' },
  exportNdjson: { ko: 'NDJSON 내보내기', en: 'Export NDJSON' },
  newer: { ko: '최근', en: 'Newer' },
  older: { ko: '이전', en: 'Older' },
  page: { ko: '쪽', en: 'page' },
  chainOk: { ko: '해시 체인 정상', en: 'Hash chain intact' },
  chainBroken: { ko: '해시 체인 손상', en: 'Hash chain broken' },
  chainShown: { ko: '표시된 기록 검사', en: 'checked for the records shown' },
  verifyAll: { ko: '전체 기록 검사', en: 'Check the whole trail' },
  auditFrom: { ko: '부터', en: 'From' },
  auditTo: { ko: '까지', en: 'To' },
  unknownAction: { ko: '알 수 없는 작업 (목록에서 고르세요)', en: 'unknown action (pick one from the list)' },
  noRecords: { ko: '해당하는 기록 없음', en: 'no matching records' },
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
