import type { ResolvedNotify } from '@slopeguard/control-center/notify/config.ts';
import { type Area, defaultArea } from '@slopeguard/control-center/warn/area.ts';
import { parseWarnConfig } from '@slopeguard/control-center/warn/config.ts';
import type { WarnOptions } from '@slopeguard/control-center/warn/wire.ts';
import type { Position } from '@slopeguard/core';

/**
 * Where the demo's sites are: real places in Korea where slopes failed or are watched, so that the
 * map, the CAP areas and the public pages look like an installation's. Each gets the default area
 * (a 0.5 km circle around the position), named after the place; the issuer says it is the demo.
 * The positions are approximate and the sites fictional.
 */
const PLACES: ReadonlyArray<{ position: Position; ko: string; en: string }> = [
  {
    position: [37.4702, 127.0236],
    ko: '서울 서초구 우면산 (데모)',
    en: 'Umyeonsan, Seocho-gu, Seoul (demo)',
  },
  {
    position: [35.1697, 129.1705],
    ko: '부산 해운대구 장산 (데모)',
    en: 'Jangsan, Haeundae-gu, Busan (demo)',
  },
  { position: [35.9596, 129.4168], ko: '포항 남구 오천읍 (데모)', en: 'Ocheon-eup, Pohang (demo)' },
  { position: [37.9318, 127.7706], ko: '춘천 신북읍 천전리 (데모)', en: 'Cheonjeon-ri, Chuncheon (demo)' },
  { position: [36.7398, 128.3349], ko: '예천 효자면 벌방리 (데모)', en: 'Beolbang-ri, Yecheon (demo)' },
  {
    position: [37.4453, 126.9637],
    ko: '서울 관악구 관악산 (데모)',
    en: 'Gwanaksan, Gwanak-gu, Seoul (demo)',
  },
  { position: [38.0697, 128.1707], ko: '인제 인제읍 (데모)', en: 'Inje-eup, Inje (demo)' },
  { position: [37.7519, 128.8761], ko: '강릉 성산면 (데모)', en: 'Seongsan-myeon, Gangneung (demo)' },
];

export function demoPosition(index: number): Position | undefined {
  return PLACES[index]?.position;
}

export function demoAreas(sites: readonly string[]): Map<string, Area> {
  const out = new Map<string, Area>();
  sites.forEach((site, i) => {
    const place = PLACES[i];
    if (!place) return;
    const area = defaultArea({ id: site, position: place.position });
    area.name = { ko: place.ko, en: place.en };
    area.issuer = { ko: '슬로프가드 데모', en: 'Slopeguard demo' };
    out.set(site, area);
  });
  return out;
}

/**
 * The demo warns residents as an installation would, every message marked as a drill (훈련): CAP
 * feed, public pages, web push, the retained signboard notice, and with the story the SMS gateway
 * request to the demo's webhook receiver. No e-mail: the demo has no SMTP server.
 */
export function demoWarnings(
  sites: readonly string[],
  dataDir: string,
  notify: ResolvedNotify | undefined,
): WarnOptions {
  const r = parseWarnConfig(
    {
      sender: 'demo@slopeguard.invalid',
      id_prefix: 'invalid.slopeguard.demo',
      author: '슬로프가드 데모 / Slopeguard demo',
      exercise: true,
      push: { subject: 'mailto:demo@slopeguard.invalid' },
      ...(notify?.channels.some((c) => c.id === 'sms-gateway')
        ? { gateway: { channel: 'sms-gateway' } }
        : {}),
    },
    { notify, dataDir },
  );
  if (!r.ok) throw new Error(`demo warn config: ${r.errors.join('; ')}`);
  return { config: r.value, areas: demoAreas(sites) };
}
