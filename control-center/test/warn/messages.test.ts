import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS } from '../../src/warn/area.ts';
import { LANGS, renderWarning, residentKind } from '../../src/warn/messages.ts';
import { LONG_LIMIT, messageLength, SHORT_LIMIT, truncateUnits } from '../../src/warn/text-length.ts';
import { FIXTURE_AREAS, JANGSAN, OCHEON, UMYEONSAN } from './fixtures.ts';

const ISSUED = Date.UTC(2026, 6, 15, 18, 40); // 16 July 2026 03:40 in Seoul

const LEVEL_WORD = {
  ko: { caution: '주의', warning: '경계', serious: '심각', all_clear: '해제' },
  en: { caution: '(Caution)', warning: '(Warning)', serious: '(Serious)', all_clear: 'all clear' },
} as const;

describe('counting characters', () => {
  it('counts UTF-16 units of the NFC form: a decomposed syllable once, an emoji twice', () => {
    expect(messageLength('대피')).toBe(2);
    expect(messageLength('대피'.normalize('NFD'))).toBe(2);
    expect('대피'.normalize('NFD').length).toBe(4);
    expect(messageLength('산'.normalize('NFD'))).toBe(1);
    expect('산'.normalize('NFD').length).toBe(3);
    expect(messageLength('⚠️대피')).toBe(4); // U+26A0 U+FE0F
    expect(messageLength('🏃대피')).toBe(4); // a surrogate pair
  });
  it('cuts without splitting a surrogate pair', () => {
    expect(truncateUnits('가나다라마', 3)).toBe('가나…');
    expect(truncateUnits('a🏃bc', 3)).toBe('a…');
    expect(truncateUnits('가나', 5)).toBe('가나');
  });
});

describe('resident messages', () => {
  it('has none for levels 0 and 1', () => {
    expect([0, 1, 2, 3, 4].map((l) => residentKind(l as 0))).toEqual([
      undefined,
      undefined,
      'caution',
      'warning',
      'serious',
    ]);
  });

  // Every kind x language x form x fixture area, actual and drill.
  for (const area of FIXTURE_AREAS) {
    for (const kind of MESSAGE_KINDS) {
      for (const exercise of [false, true]) {
        it(`${area.id} ${kind}${exercise ? ' drill' : ''}: every form fits and says who, what, what to do`, () => {
          const r = renderWarning({
            area,
            kind,
            exercise,
            issuedAt: ISSUED,
            pageUrl: 'https://x.example/p/a',
          });
          for (const lang of LANGS) {
            const f = r[lang];
            expect(messageLength(f.short), f.short).toBeLessThanOrEqual(SHORT_LIMIT);
            expect(messageLength(f.long), f.long).toBeLessThanOrEqual(LONG_LIMIT);
            expect(messageLength(f.subject)).toBeLessThanOrEqual(LONG_LIMIT);
            for (const text of [f.short, f.long, f.full, f.subject]) {
              // The sender first, as Korean disaster texts do (the longest English issuers are cut
              // in the 90-character form of a drill rather than the action).
              expect(text.startsWith(`[${area.issuer[lang].slice(0, 20)}`), text).toBe(true);
              expect(text.includes('[훈련'), text).toBe(exercise);
              expect(text, text).toContain(LEVEL_WORD[lang][kind]);
              expect(text).toBe(text.normalize('NFC'));
            }
            // Never cut in the middle of the action: every short text ends with a sentence.
            expect(f.short).toMatch(/[.。]$|대피소: |Go to: /);
            expect(f.long).not.toMatch(/…$/);
            expect(f.full).toContain(area.name[lang]);
            if (exercise) expect(f.full).toMatch(lang === 'ko' ? /훈련입니다/ : /This is a drill/);
          }
        });
      }
    }
  }

  it('keeps the place and the nearest shelter in the long form of a real area', () => {
    const r = renderWarning({ area: UMYEONSAN, kind: 'serious', exercise: true, issuedAt: ISSUED });
    expect(r.ko.long).toBe(
      '[서울특별시 서초구청][훈련] 서울특별시 서초구 우면동 우면산 산사태 위험지역 급경사지 붕괴 임박(심각). 지금 바로 대피하세요. 대피소: 서초구 우면동 주민센터 3층 대강당',
    );
    // The short form drops the shelter first, then abbreviates.
    expect(r.ko.short).toBe(
      '[서울특별시 서초구청][훈련] 서울특별시 서초구 우면동 우면산 산사태 위험지역 급경사지 붕괴 임박(심각). 지금 바로 대피하세요.',
    );
    const j = renderWarning({ area: JANGSAN, kind: 'warning', exercise: false, issuedAt: ISSUED });
    expect(j.ko.long).toContain('대피소: 해운대구 우1동 행정복지센터');
    expect(j.en.short.length).toBeLessThanOrEqual(90);
    expect(j.en.short.startsWith('[Haeundae-gu Office, Busan] ')).toBe(true);
  });

  it('lists every shelter with its address and the time in the area time zone in the full text', () => {
    const r = renderWarning({ area: UMYEONSAN, kind: 'warning', exercise: false, issuedAt: ISSUED });
    expect(r.ko.full).toContain('- 양재고등학교 체육관: 서울특별시 서초구 바우뫼로 185');
    expect(r.ko.full).toContain('2026년 7월 16일 03:40');
    expect(r.en.full).toContain('- Yangjae High School gym: 185 Baumoe-ro, Seocho-gu, Seoul');
    expect(r.en.full).toMatch(/16 Jul 2026, 03:40 (GMT\+9|KST)/);
  });

  it('tells residents of an area without shelters where to go', () => {
    const r = renderWarning({ area: OCHEON, kind: 'serious', exercise: false, issuedAt: ISSUED });
    expect(r.ko.full).toContain('가까운 지정 대피소');
    expect(r.en.full).toContain('nearest designated shelter');
  });

  it('uses the area override of the action sentence', () => {
    const area = { ...JANGSAN, messages: { serious: { ko: '장산로 아래쪽 길로 지금 대피하세요.' } } };
    const r = renderWarning({ area, kind: 'serious', exercise: false, issuedAt: ISSUED });
    expect(r.ko.long).toContain('장산로 아래쪽 길로 지금 대피하세요.');
    expect(r.ko.full).toContain('장산로 아래쪽 길로 지금 대피하세요.');
    expect(r.en.long).toContain('Leave now.');
  });

  it('makes a name with line breaks one line', () => {
    const area = { ...JANGSAN, name: { ko: '장산\n급경사지', en: 'Jangsan\r\nslope' } };
    const r = renderWarning({ area, kind: 'caution', exercise: false, issuedAt: ISSUED });
    expect(r.ko.short).not.toMatch(/[\r\n]/);
    expect(r.ko.short).toContain('장산 급경사지');
  });
});
