import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAreas } from '../demo/demo-areas.ts';
import { DEMO_SITES } from '../demo/stack.ts';
import { parseServerConfig, serverWarn } from '../server/config.ts';
import { loadSiteFiles, parseSiteFileText } from '../server/site-files.ts';

/**
 * Issue 11, areas: a site file carries its rules and, under `area:`, the area it threatens; every
 * error of both is listed at once with the file and the path; a file with only a position gets the
 * default circle; with neither, the site warns officials only.
 */
const SENSORS = 'sensors: [{ id: rain-1, kind: rain }]\n';
const AREA = `area:
  name: { ko: 서울특별시 서초구 우면동 우면산, en: "Umyeonsan, Seocho-gu, Seoul" }
  issuer: { ko: 서울특별시 서초구청, en: "Seocho-gu Office, Seoul" }
  polygon: [[37.4711, 127.0189], [37.4735, 127.0262], [37.4682, 127.0291]]
  shelters:
    - name: { ko: 우면동 주민센터, en: Umyeon-dong Community Centre }
      address: { ko: 서울특별시 서초구 태봉로 114, en: "114 Taebong-ro, Seocho-gu, Seoul" }
      position: [37.4688, 127.0357]
`;

describe('site files with position and area', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-site-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the area of a file, the default circle of a position, and none without either', () => {
    writeFileSync(
      join(dir, 'umyeonsan.yaml'),
      `id: umyeonsan-1\nposition: [37.47, 127.02]\n${SENSORS}${AREA}`,
    );
    writeFileSync(
      join(dir, 'jangsan.yaml'),
      `id: jangsan-1\nname: 장산 급경사지\nposition: [35.1697, 129.1705]\n${SENSORS}`,
    );
    writeFileSync(
      join(dir, 'plain.json'),
      JSON.stringify({ id: 'plain', sensors: [{ id: 'r', kind: 'rain' }] }),
    );
    const r = loadSiteFiles(dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.configs.keys()].sort()).toEqual(['jangsan-1', 'plain', 'umyeonsan-1']);
    expect(r.configs.get('jangsan-1')?.position).toEqual([35.1697, 129.1705]);
    const u = r.areas.get('umyeonsan-1');
    expect(u?.id).toBe('umyeonsan-1');
    expect(u?.polygon).toHaveLength(3);
    expect(u?.shelters[0]?.name.ko).toBe('우면동 주민센터');
    expect(r.areas.get('jangsan-1')).toMatchObject({
      id: 'jangsan-1',
      name: { ko: '장산 급경사지' },
      circle: { center: [35.1697, 129.1705], radiusKm: 0.5 },
    });
    expect(r.areas.has('plain')).toBe(false);
  });

  it('lists every error of rules and area at once, each with its file and path', () => {
    const bad = mkdtempSync(join(tmpdir(), 'sg-site-files-bad-'));
    writeFileSync(
      join(bad, 'x.yaml'),
      `id: x\nposition: [95, 127]\nsensors: [{ id: r, kind: rian }]\narea:\n  name: { ko: "" }\n  issuer: { ko: 구청, en: Office }\n  circle: { center: [37, 200], radiusKm: 0 }\n  shelters: [{ name: { ko: a, en: a }, address: { ko: b, en: b }, position: [37, 127], extra: 1 }]\n`,
    );
    writeFileSync(
      join(bad, 'y.yaml'),
      `id: y\n${SENSORS}area: { name: { ko: a, en: a }, issuer: { ko: b, en: b } }\n`,
    );
    const r = loadSiteFiles(bad);
    rmSync(bad, { recursive: true, force: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^x\.yaml: \/position\/0: /),
        expect.stringMatching(/^x\.yaml: \/sensors\/0\/kind: /),
        expect.stringMatching(/^x\.yaml: \/area\/name\/ko: /),
        expect.stringMatching(/^x\.yaml: \/area\/name\/en: /),
        expect.stringMatching(/^x\.yaml: \/area\/circle\/center\/1: /),
        expect.stringMatching(/^x\.yaml: \/area\/circle\/radiusKm: /),
        'x.yaml: /area/shelters/0/extra: Unexpected property',
        'y.yaml: /area: needs a polygon or a circle',
      ]),
    );
  });

  it('refuses two sites naming one area', () => {
    const two = mkdtempSync(join(tmpdir(), 'sg-site-files-two-'));
    writeFileSync(join(two, 'a.yaml'), `id: a\n${SENSORS}${AREA.replace('area:\n', 'area:\n  id: same\n')}`);
    writeFileSync(join(two, 'b.yaml'), `id: b\n${SENSORS}${AREA.replace('area:\n', 'area:\n  id: same\n')}`);
    const r = loadSiteFiles(two);
    rmSync(two, { recursive: true, force: true });
    expect(r).toEqual({ ok: false, errors: ['b.yaml: /area/id: area same is already the area of a.yaml'] });
  });

  it('parses JSON site files the same way', () => {
    const r = parseSiteFileText(
      JSON.stringify({ id: 'j', position: [37.5, 127], sensors: [{ id: 'r', kind: 'rain' }] }),
      'json',
    );
    expect(r.ok && r.value.area?.circle?.center).toEqual([37.5, 127]);
  });

  it('gives every demo site a place in Korea and its default circle', () => {
    const areas = demoAreas(DEMO_SITES);
    expect(areas.size).toBe(DEMO_SITES.length);
    for (const a of areas.values()) {
      const [lat, lon] = a.circle?.center ?? [0, 0];
      // South Korea's mainland lies within about 33-39 N, 124-132 E.
      expect(lat).toBeGreaterThan(33);
      expect(lat).toBeLessThan(39);
      expect(lon).toBeGreaterThan(124);
      expect(lon).toBeLessThan(132);
      expect(a.name.ko).toMatch(/[가-힣]/);
    }
    expect(areas.get('demo-a')?.name.en).toMatch(/Umyeonsan/);
  });
});

describe('the warn: section of server.yaml', () => {
  const base = 'mqtt: { tcp: { port: 1 } }\ndata_dir: /tmp/sg-x\n';
  it('resolves with defaults and checks its channel references against notify', () => {
    const ok = parseServerConfig(
      `${base}notify:\n  channels:\n    mail: { kind: email, host: smtp.example, from: a@b.kr }\n    sms: { kind: webhook, url: "https://gw.example/h", secret: "0123456789abcdef0123" }\nwarn:\n  public_url: https://warn.example.go.kr/\n  email: { channel: mail }\n  gateway: { channel: sms }\n  push: { subject: "mailto:ops@example.go.kr" }\n`,
      {},
    );
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    const w = serverWarn(ok.value, {});
    expect(w).toMatchObject({
      publicUrl: 'https://warn.example.go.kr',
      exercise: false,
      email: { channel: 'mail' },
      gateway: { channel: 'sms' },
      push: { vapidFile: '/tmp/sg-x/vapid.json', allowHttp: false },
      rateLimit: { perMinute: 10, burst: 5 },
    });
    const bad = parseServerConfig(
      `${base}notify:\n  channels:\n    sms: { kind: webhook, url: "https://gw.example/h", secret: "0123456789abcdef0123" }\nwarn:\n  email: { channel: sms }\n  gateway: { channel: nope }\n  push: { subject: "ftp://x" }\n  bogus: 1\n`,
      {},
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors).toEqual(
      expect.arrayContaining([
        '/warn/bogus: Unexpected property',
        expect.stringMatching(/^\/warn\/push\/subject: /),
      ]),
    );
    const refs = parseServerConfig(
      `${base}notify:\n  channels:\n    sms: { kind: webhook, url: "https://gw.example/h", secret: "0123456789abcdef0123" }\nwarn:\n  email: { channel: sms }\n  gateway: { channel: nope }\n`,
      {},
    );
    expect(refs).toEqual({
      ok: false,
      errors: [
        '/warn/email/channel: sms is a webhook channel, not email',
        '/warn/gateway/channel: no channel "nope" in notify.channels',
      ],
    });
  });
});
