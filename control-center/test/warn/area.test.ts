import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { areaIdFor, closedRing, defaultArea, parseArea } from '../../src/warn/area.ts';
import { areaFromSiteFile } from '../../src/warn/site-area.ts';

const SITE_YAML = `
id: umyeonsan-1
name: 우면산 1구역
sensors:
  - { id: tilt-1, kind: tilt }
area:
  name: { ko: 서초구 우면동 우면산, en: "Umyeonsan, Umyeon-dong, Seocho-gu" }
  issuer: { ko: 서울특별시 서초구청, en: Seocho-gu Office }
  polygon:
    - [37.4711, 127.0189]
    - [37.4735, 127.0262]
    - [37.4682, 127.0291]
  shelters:
    - name: { ko: 우면동 주민센터, en: Umyeon-dong Community Centre }
      address: { ko: 서울특별시 서초구 태봉로 114, en: "114 Taebong-ro, Seocho-gu" }
      position: [37.4688, 127.0357]
  messages:
    serious: { ko: 지금 바로 양재고 체육관으로 대피하세요. }
`;

const yaml = (text: string) => parseDocument(text).toJS() as unknown;

describe('area of a site file', () => {
  it('reads a valid area with its defaults', () => {
    const { area, errors } = areaFromSiteFile(yaml(SITE_YAML));
    expect(errors).toEqual([]);
    expect(area?.id).toBe('umyeonsan-1');
    expect(area?.timeZone).toBe('Asia/Seoul');
    expect(area?.shelters[0]?.position).toEqual([37.4688, 127.0357]);
    expect(area?.messages.serious?.ko).toBe('지금 바로 양재고 체육관으로 대피하세요.');
    // The polygon is closed for CAP, not in the configuration.
    expect(area?.polygon).toHaveLength(3);
    expect(closedRing(area?.polygon ?? [])).toHaveLength(4);
  });

  it('lists every error with its path from the file root', () => {
    const { area, errors } = areaFromSiteFile({
      id: 'x',
      area: {
        name: { ko: '', en: 'ok' },
        issuer: { ko: '서초구청' },
        circle: { center: [95, 127], radiusKm: 0 },
        shelters: [{ name: { ko: 'a', en: 'a' }, address: { ko: 'b', en: 'b' }, position: [37, 500] }],
        siren: true,
        timeZone: 'Asia/Seoul',
      },
    });
    expect(area).toBeUndefined();
    const paths = errors.map((e) => e.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/area/name/ko',
        '/area/issuer/en',
        '/area/circle/center/0',
        '/area/circle/radiusKm',
        '/area/shelters/0/position/1',
        '/area/siren',
      ]),
    );
    expect(errors.find((e) => e.startsWith('/area/siren:'))).toMatch(/unexpected property/i);
  });

  it('refuses an area without a shape, with two shapes, with a degenerate polygon or an unknown time zone', () => {
    const base = {
      name: { ko: '가', en: 'A' },
      issuer: { ko: '나', en: 'B' },
    };
    expect(parseArea(base, 's').ok).toBe(false);
    expect(parseArea(base, 's')).toMatchObject({ errors: ['/: needs a polygon or a circle'] });
    const both = parseArea(
      {
        ...base,
        circle: { center: [37, 127], radiusKm: 1 },
        polygon: [
          [37, 127],
          [37.1, 127],
          [37, 127.1],
        ],
      },
      's',
    );
    expect(both).toMatchObject({ ok: false, errors: [expect.stringMatching(/not both/)] });
    const line = parseArea(
      {
        ...base,
        polygon: [
          [37, 127],
          [37.1, 127.1],
          [37.2, 127.2],
        ],
        timeZone: 'Mars/Olympus',
      },
      's',
    );
    expect(line).toMatchObject({
      ok: false,
      errors: [
        expect.stringMatching(/^\/polygon: .*one line/),
        expect.stringMatching(/^\/timeZone: unknown/),
      ],
    });
  });

  it('refuses a message override that cannot fit the 157-character form', () => {
    const { errors } = areaFromSiteFile({
      id: 'x',
      area: {
        name: { ko: '서울특별시 서초구 우면동 우면산 산사태 위험지역', en: 'A' },
        issuer: { ko: '서울특별시 서초구청', en: 'B' },
        circle: { center: [37, 127], radiusKm: 1 },
        // 120 characters, the schema's maximum: too long next to this issuer and place.
        messages: { warning: { ko: '대'.repeat(120), en: 'Leave now by the lower road.' } },
      },
    });
    expect(errors).toEqual([expect.stringMatching(/^\/area\/messages\/warning\/ko: too long for the 157/)]);
  });

  it('gives a site without an area a circle around its position', () => {
    const r = areaFromSiteFile({ id: 'Demo_Hill.1', name: '뒷산', position: [36.35, 127.38] });
    expect(r.errors).toEqual([]);
    expect(r.area).toEqual(defaultArea({ id: 'Demo_Hill.1', name: '뒷산', position: [36.35, 127.38] }));
    expect(r.area?.id).toBe('demo-hill-1');
    expect(r.area?.circle).toEqual({ center: [36.35, 127.38], radiusKm: 0.5 });
    // The position may come from elsewhere (the demo's site list) ...
    expect(areaFromSiteFile({ id: 'hill-b' }, [35.1, 129.1]).area?.circle?.center).toEqual([35.1, 129.1]);
    // ... and without any, the site warns officials only.
    expect(areaFromSiteFile({ id: 'hill-c' })).toEqual({ area: undefined, errors: [] });
    expect(areaFromSiteFile({ id: 'hill-d', position: [200, 1] }).errors).toEqual([
      '/position: expected [latitude, longitude] in degrees',
    ]);
  });

  it('maps site ids to URL-safe area ids', () => {
    expect(areaIdFor('Hill_A.2')).toBe('hill-a-2');
    expect(areaIdFor('___')).toBe('area');
  });
});
