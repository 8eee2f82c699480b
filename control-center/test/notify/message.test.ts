import { describe, expect, it } from 'vitest';
import { officialsMessage, reasonText } from '../../src/notify/message.ts';

const at = Date.UTC(2026, 10, 29, 7, 5);

describe('officials message', () => {
  it('is Korean first, then English: site, level, reasons and time', () => {
    const m = officialsMessage(
      {
        alertId: 'a1',
        site: 'hill-a',
        level: 3,
        state: 'active',
        acknowledged: false,
        reasons: ['tilt t1 0.62 deg/h (>= 0.5)', 'rain r1 42 mm/h (>= 30)'],
        at,
      },
      { kind: 'alert', reminder: 0 },
      at + 1_000,
    );
    expect(m.subject).toBe('[Slopeguard] 3 경계 Warning · hill-a');
    expect(m.text.split('\n')).toEqual([
      '[급경사지 경보] hill-a',
      '단계: 3 경계',
      '사유: tilt t1 0.62 deg/h (>= 0.5); rain r1 42 mm/h (>= 30)',
      '시각: 2026-11-29 16:05 KST',
      '확인(승인)할 때까지 재알림하고 다음 담당자에게 전달합니다.',
      '',
      '[Slope alert] hill-a',
      'Level: 3 Warning',
      'Reasons: tilt t1 0.62 deg/h (>= 0.5); rain r1 42 mm/h (>= 30)',
      'Time: 2026-11-29 16:05 KST (07:05 UTC)',
      'Until someone acknowledges it, reminders follow and the next tier is told.',
    ]);
    expect(m.data).toMatchObject({
      kind: 'alert',
      site: 'hill-a',
      level: 3,
      levelName: { ko: '경계', en: 'Warning' },
    });
  });

  it('names every level in both languages', () => {
    const names = [0, 1, 2, 3, 4].map(
      (level) =>
        officialsMessage(
          { alertId: 'a', site: 's', level: level as 0, state: 'active', acknowledged: false, at },
          { kind: 'alert', reminder: 0 },
          at,
        ).subject,
    );
    expect(names).toEqual([
      '[Slopeguard] 0 정상 Normal · s',
      '[Slopeguard] 1 관심 Attention · s',
      '[Slopeguard] 2 주의 Caution · s',
      '[Slopeguard] 3 경계 Warning · s',
      '[Slopeguard] 4 심각 Serious · s',
    ]);
  });

  it('keeps the text short: at most three reasons, each bounded', () => {
    const m = officialsMessage(
      {
        alertId: 'a',
        site: 's',
        level: 4,
        state: 'active',
        acknowledged: false,
        reasons: ['x'.repeat(500), 'b', 'c', 'd', 'e'],
        at,
      },
      { kind: 'alert', reminder: 1 },
      at,
    );
    expect(m.text).toContain(`사유: ${'x'.repeat(99)}…; b; c; +2`);
    expect(m.text.length).toBeLessThan(700);
    expect(m.subject).toBe('[Slopeguard] 재알림 Reminder 1 · 4 심각 Serious · s');
  });

  it('writes an engine reason without text from its rule, sensor and value', () => {
    expect(reasonText({ rule: 'velocity', sensor: 't1', value: 0.62, unit: 'deg/h', threshold: 0.5 })).toBe(
      'velocity t1 0.62 deg/h (>= 0.5)',
    );
    expect(reasonText({ rule: 'rain', text: '24 h rain 180 mm' })).toBe('24 h rain 180 mm');
  });
});
