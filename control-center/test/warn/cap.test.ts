import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAP_MAPPING, capDateTime } from '../../src/warn/cap.ts';
import { buildAtomFeed, capAlertPath } from '../../src/warn/cap-feed.ts';
import { CapLog } from '../../src/warn/cap-log.ts';
import { tempDir } from '../notify/helpers.ts';
import { JANGSAN, UMYEONSAN } from './fixtures.ts';
import { CAP_XSD, openWarnDb, xmllint } from './helpers.ts';

const T0 = Date.UTC(2026, 6, 15, 18, 40, 12, 345); // 2026-07-16 03:40:12 in Seoul
const MIN = 60_000;

const tag = (xml: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);

describe('CAP 1.2 episodes', () => {
  const tmp = tempDir('cap');
  let db: DatabaseSync;
  let log: CapLog;
  beforeAll(() => {
    db = openWarnDb(join(tmp.dir, 'ops.db'));
    log = new CapLog({ db, sender: 'slopeguard@seocho.go.kr', idPrefix: 'kr.go.seocho.slopeguard' });
  });
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  it('writes sent with the area offset, whole seconds, and UTC as -00:00 [CAP 1.2 3.3.2]', () => {
    expect(capDateTime(T0, 'Asia/Seoul')).toBe('2026-07-16T03:40:12+09:00');
    expect(capDateTime(T0, 'UTC')).toBe('2026-07-15T18:40:12-00:00');
    expect(capDateTime(T0, 'Asia/Kolkata')).toBe('2026-07-16T00:10:12+05:30');
    expect(capDateTime(T0, 'America/St_Johns')).toBe('2026-07-15T16:10:12-02:30');
  });

  it('goes Alert -> Update -> Update -> Cancel, each referencing all earlier ones, each valid', () => {
    const web = 'https://warn.seocho.go.kr/p/umyeonsan';
    const steps = [
      { kind: 'caution', at: T0, type: 'Alert' },
      { kind: 'warning', at: T0 + 20 * MIN, type: 'Update' },
      { kind: 'serious', at: T0 + 45 * MIN, type: 'Update' },
      { kind: 'all_clear', at: T0 + 300 * MIN, type: 'Cancel' },
    ] as const;
    const published: { identifier: string; sent: string; xml: string }[] = [];
    for (const [i, s] of steps.entries()) {
      const r = log.publish({
        area: UMYEONSAN,
        episode: 'alert-42',
        kind: s.kind,
        exercise: false,
        at: s.at,
        web,
      });
      expect(r.created).toBe(true);
      const xml = r.message.xml;
      const v = xmllint(tmp.dir, `umyeonsan-${i}.xml`, xml, CAP_XSD);
      expect(v.output).toContain('validates');
      expect(v.ok).toBe(true);
      expect(tag(xml, 'msgType')).toEqual([s.type]);
      expect(tag(xml, 'status')).toEqual(['Actual']);
      expect(tag(xml, 'identifier')).toEqual([`kr.go.seocho.slopeguard.umyeonsan.alert-42.${i + 1}`]);
      expect(tag(xml, 'language')).toEqual(['ko-KR', 'en-US']);
      expect(tag(xml, 'category')).toEqual(['Geo', 'Geo']);
      const m = CAP_MAPPING[s.kind];
      expect(tag(xml, 'urgency')).toEqual([m.urgency, m.urgency]);
      expect(tag(xml, 'severity')).toEqual([m.severity, m.severity]);
      expect(tag(xml, 'certainty')).toEqual([m.certainty, m.certainty]);
      // The polygon closed: five pairs for four corners.
      const polygon = tag(xml, 'polygon');
      expect(polygon).toHaveLength(2);
      expect(polygon[0]?.split(' ')).toHaveLength(5);
      expect(polygon[0]?.startsWith('37.4711,127.0189 ')).toBe(true);
      expect(polygon[0]?.endsWith(' 37.4711,127.0189')).toBe(true);
      expect(tag(xml, 'areaDesc')).toEqual([UMYEONSAN.name.ko, UMYEONSAN.name.en]);
      expect(tag(xml, 'web')).toEqual([web, web]);
      const refs = tag(xml, 'references')[0];
      const expected = published.map((p) => `slopeguard@seocho.go.kr,${p.identifier},${p.sent}`).join(' ');
      expect(refs).toBe(i === 0 ? undefined : expected);
      published.push({ identifier: r.message.identifier, sent: r.message.sent, xml });
    }
    expect(published[0]?.sent).toBe('2026-07-16T03:40:12+09:00');
    // A repeat of the last step publishes nothing; the stored message is returned byte for byte.
    const again = log.publish({
      area: UMYEONSAN,
      episode: 'alert-42',
      kind: 'all_clear',
      exercise: false,
      at: T0,
    });
    expect(again.created).toBe(false);
    expect(again.message.xml).toBe(published[3]?.xml);
    expect(log.xml(published[1]?.identifier ?? '')).toBe(published[1]?.xml);
    // Nothing after the cancel.
    expect(() =>
      log.publish({ area: UMYEONSAN, episode: 'alert-42', kind: 'serious', exercise: false, at: T0 }),
    ).toThrow(expect.objectContaining({ code: 'SG_ERR_WARN_EPISODE' }));
  });

  it('marks a drill as Exercise, with [훈련] in every text, and carries a circle', () => {
    const r = log.publish({ area: JANGSAN, episode: 'drill-1', kind: 'serious', exercise: true, at: T0 });
    const xml = r.message.xml;
    const v = xmllint(tmp.dir, 'jangsan-drill.xml', xml, CAP_XSD);
    expect(v.ok, v.output).toBe(true);
    expect(tag(xml, 'status')).toEqual(['Exercise']);
    expect(tag(xml, 'circle')).toEqual(['35.1697,129.1705 0.8', '35.1697,129.1705 0.8']);
    for (const t of [...tag(xml, 'headline'), ...tag(xml, 'description'), ...tag(xml, 'instruction')])
      expect(t).toContain('[훈련');
    const cancel = log.publish({
      area: JANGSAN,
      episode: 'drill-1',
      kind: 'all_clear',
      exercise: true,
      at: T0 + MIN,
    });
    expect(xmllint(tmp.dir, 'jangsan-drill-cancel.xml', cancel.message.xml, CAP_XSD).ok).toBe(true);
    expect(tag(cancel.message.xml, 'status')).toEqual(['Exercise']);
    expect(tag(cancel.message.xml, 'responseType')).toEqual(['AllClear', 'AllClear']);
  });

  it('refuses a cancel with nothing to cancel and a drill inside a real episode', () => {
    expect(() =>
      log.publish({ area: JANGSAN, episode: 'empty', kind: 'all_clear', exercise: false, at: T0 }),
    ).toThrow(/nothing to clear/);
    log.publish({ area: JANGSAN, episode: 'real-1', kind: 'warning', exercise: false, at: T0 });
    expect(() =>
      log.publish({ area: JANGSAN, episode: 'real-1', kind: 'serious', exercise: true, at: T0 }),
    ).toThrow(/drill and a real warning/);
  });

  it('escapes what a site file may contain and stays valid', () => {
    const area = {
      ...JANGSAN,
      id: 'odd',
      name: { ko: '장산 <b>&"급경사지"', en: "Jangsan's <slope> & co\u0007" },
    };
    const r = log.publish({ area, episode: 'x', kind: 'warning', exercise: false, at: T0 });
    const v = xmllint(tmp.dir, 'odd.xml', r.message.xml, CAP_XSD);
    expect(v.ok, v.output).toBe(true);
    expect(r.message.xml).toContain('<areaDesc>장산 &lt;b&gt;&amp;&quot;급경사지&quot;</areaDesc>');
  });

  it('the schema check can fail: a message without scope is refused by xmllint', () => {
    const xml = log.recent({ area: 'umyeonsan', limit: 1 })[0];
    const text = log.xml(xml?.identifier ?? '') ?? '';
    const broken = text.replace(/\s*<scope>Public<\/scope>/, '');
    expect(broken).not.toBe(text);
    const v = xmllint(tmp.dir, 'broken.xml', broken, CAP_XSD);
    expect(v.ok).toBe(false);
    expect(v.output).toMatch(/scope/);
  });

  it('lists the messages in an Atom feed, newest first, each linking to its CAP document', () => {
    const records = log.recent({ area: 'umyeonsan' });
    expect(records.map((r) => r.msgType)).toEqual(['Cancel', 'Update', 'Update', 'Alert']);
    const feed = buildAtomFeed({
      baseUrl: 'https://warn.seocho.go.kr',
      selfPath: '/cap/feed.xml',
      title: '서초구 급경사지 경보 / Seocho slope warnings',
      author: '서울특별시 서초구청',
      records,
      now: T0 + 400 * MIN,
    });
    const v = xmllint(tmp.dir, 'feed.xml', feed);
    expect(v.ok, v.output).toBe(true);
    const links = [
      ...feed.matchAll(/<link rel="alternate" type="application\/cap\+xml" href="([^"]+)"\/>/g),
    ].map((m) => m[1]);
    expect(links).toEqual(records.map((r) => `https://warn.seocho.go.kr${capAlertPath(r.identifier)}`));
    expect(tag(feed, 'updated')[0]).toBe('2026-07-15T23:40:12Z');
    expect(feed).toContain('<title>[서울특별시 서초구청] 서울특별시 서초구 우면동 우면산 산사태 위험지역');
  });
});
