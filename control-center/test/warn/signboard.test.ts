import { decodePayload, encodePayload } from '@slopeguard/core';
import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS } from '../../src/warn/area.ts';
import { KIND_LEVEL, renderWarning } from '../../src/warn/messages.ts';
import { signboardNotice } from '../../src/warn/signboard.ts';
import { FIXTURE_AREAS, UMYEONSAN } from './fixtures.ts';

const AT = Date.UTC(2026, 6, 15, 18, 40);

describe('signboard notice (slopeguard/v1/{site}/notice)', () => {
  it('passes the contract schema for every kind, no data and drills, for every fixture area', () => {
    for (const area of FIXTURE_AREAS) {
      for (const exercise of [false, true]) {
        const inputs = [
          ...MESSAGE_KINDS.map((kind) => ({ area, kind, level: KIND_LEVEL[kind], exercise, at: AT })),
          { area, kind: 'no_data' as const, exercise, at: AT },
        ];
        for (const input of inputs) {
          const notice = signboardNotice(input);
          const decoded = decodePayload('notice', encodePayload('notice', notice));
          expect(decoded, JSON.stringify(notice)).toEqual({ ok: true, value: notice });
          for (const t of [notice.ko.short, notice.ko.long, notice.en.short, notice.en.long]) {
            expect(t.includes('[훈련')).toBe(exercise);
            expect(t).toMatch(/[.]$|대피소: |Go to: /);
            expect(t).not.toMatch(/…$/);
          }
        }
      }
    }
  });

  it('carries the residents texts for a warning, and its own text for no data', () => {
    const w = signboardNotice({ area: UMYEONSAN, kind: 'serious', level: 4, exercise: false, at: AT });
    const r = renderWarning({ area: UMYEONSAN, kind: 'serious', exercise: false, issuedAt: AT });
    expect(w).toEqual({
      ts: AT,
      level: 4,
      kind: 'warning',
      exercise: false,
      ko: { short: r.ko.short, long: r.ko.long },
      en: { short: r.en.short, long: r.en.long },
    });
    const clear = signboardNotice({ area: UMYEONSAN, kind: 'all_clear', level: 0, exercise: false, at: AT });
    expect(clear).toMatchObject({ level: 0, kind: 'all_clear' });
    const none = signboardNotice({ area: UMYEONSAN, kind: 'no_data', exercise: false, at: AT });
    expect(none).toMatchObject({ level: 0, kind: 'no_data' });
    expect(none.ko.long).toBe(
      '[서울특별시 서초구청] 서울특별시 서초구 우면동 우면산 산사태 위험지역 계측 중단. 상태를 알 수 없습니다. 비가 많이 오면 비탈면에 가까이 가지 마세요.',
    );
    expect(none.ko.short).not.toContain('정상');
  });
});
