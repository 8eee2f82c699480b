import { LEVEL_NAMES, type Level, type LevelReason } from '@slopeguard/core';
import type { NotifyMessage } from './types.ts';

/**
 * The officials' notification: short, Korean first and then English, as Korean disaster texts put
 * Korean first. It names the site, the level (number, Korean and English name), why, and when
 * (KST for the Korean part; KST and UTC for the English part). Residents' warnings have their own
 * templates (issue 11); this text is for the people who must act on an alert.
 */
export interface AlertUpdate {
  alertId: string;
  site: string;
  level: Level;
  state: 'active' | 'cleared';
  acknowledged: boolean;
  /** Short reason texts (the engine's `LevelReason.text`, see `reasonText`). */
  reasons?: readonly string[];
  /** When the alert last changed, epoch ms. */
  at?: number;
}

export interface NoticeKind {
  kind: 'alert' | 'clear';
  /** 0 for the first notice of a tier, n for its n-th reminder. */
  reminder: number;
}

const MAX_REASONS = 3;
const MAX_REASON_CHARS = 100;

const kst = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Seoul',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function formatKst(ts: number): string {
  return `${kst.format(ts).replace(',', '')} KST`;
}

function formatUtc(ts: number): string {
  return `${new Date(ts).toISOString().slice(11, 16)} UTC`;
}

/** A one-line text for an engine reason: its own text, or rule, sensor and value. */
export function reasonText(r: LevelReason): string {
  if (r.text) return r.text;
  const value = r.value === undefined ? '' : ` ${r.value}${r.unit ? ` ${r.unit}` : ''}`;
  const threshold = r.threshold === undefined ? '' : ` (>= ${r.threshold})`;
  return `${r.rule}${r.sensor ? ` ${r.sensor}` : ''}${value}${threshold}`;
}

function reasonLines(reasons: readonly string[] | undefined): string[] {
  const list = (reasons ?? []).map((r) =>
    r.length > MAX_REASON_CHARS ? `${r.slice(0, MAX_REASON_CHARS - 1)}…` : r,
  );
  const shown = list.slice(0, MAX_REASONS);
  if (list.length > MAX_REASONS) shown.push(`+${list.length - MAX_REASONS}`);
  return shown;
}

export function officialsMessage(alert: AlertUpdate, notice: NoticeKind, now: number): NotifyMessage {
  const name = LEVEL_NAMES[alert.level];
  const at = alert.at ?? now;
  const reasons = reasonLines(alert.reasons);
  const data = {
    kind: notice.kind,
    site: alert.site,
    level: alert.level,
    levelName: name,
    reasons,
    at,
    reminder: notice.reminder,
  };
  if (notice.kind === 'clear') {
    return {
      subject: `[Slopeguard] 해제 Cleared · ${alert.site}`,
      text: [
        `[급경사지 경보 해제] ${alert.site}`,
        `단계가 0 정상으로 돌아왔습니다. 시각: ${formatKst(at)}`,
        '',
        `[Slope alert cleared] ${alert.site}`,
        `The level is back to 0 Normal. Time: ${formatKst(at)} (${formatUtc(at)})`,
      ].join('\n'),
      data,
    };
  }
  const again = notice.reminder > 0;
  const reasonKo = reasons.length > 0 ? reasons.join('; ') : '없음';
  const reasonEn = reasons.length > 0 ? reasons.join('; ') : 'none given';
  return {
    subject: `[Slopeguard] ${again ? `재알림 Reminder ${notice.reminder} · ` : ''}${alert.level} ${name.ko} ${name.en} · ${alert.site}`,
    text: [
      `[급경사지 경보${again ? ` 재알림 ${notice.reminder}` : ''}] ${alert.site}`,
      `단계: ${alert.level} ${name.ko}`,
      `사유: ${reasonKo}`,
      `시각: ${formatKst(at)}`,
      '확인(승인)할 때까지 재알림하고 다음 담당자에게 전달합니다.',
      '',
      `[Slope alert${again ? ` reminder ${notice.reminder}` : ''}] ${alert.site}`,
      `Level: ${alert.level} ${name.en}`,
      `Reasons: ${reasonEn}`,
      `Time: ${formatKst(at)} (${formatUtc(at)})`,
      'Until someone acknowledges it, reminders follow and the next tier is told.',
    ].join('\n'),
    data,
  };
}
