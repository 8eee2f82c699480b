import type { Area } from '../../src/warn/area.ts';

/**
 * Areas with long, real Korean place names (steep slopes and landslide sites that made the news:
 * 우면산 2011, 장산, 포항 오천읍), and one at every length limit of the schema, so that the message
 * test covers the worst case the configuration can produce.
 */
export const UMYEONSAN: Area = {
  id: 'umyeonsan',
  name: {
    ko: '서울특별시 서초구 우면동 우면산 산사태 위험지역',
    en: 'Umyeonsan landslide risk area, Umyeon-dong, Seocho-gu, Seoul',
  },
  issuer: { ko: '서울특별시 서초구청', en: 'Seocho-gu Office, Seoul' },
  polygon: [
    [37.4711, 127.0189],
    [37.4735, 127.0262],
    [37.4682, 127.0291],
    [37.4659, 127.0214],
  ],
  shelters: [
    {
      name: { ko: '서초구 우면동 주민센터 3층 대강당', en: 'Umyeon-dong Community Centre, 3rd floor hall' },
      address: { ko: '서울특별시 서초구 태봉로 114', en: '114 Taebong-ro, Seocho-gu, Seoul' },
      position: [37.4688, 127.0357],
    },
    {
      name: { ko: '양재고등학교 체육관', en: 'Yangjae High School gym' },
      address: { ko: '서울특별시 서초구 바우뫼로 185', en: '185 Baumoe-ro, Seocho-gu, Seoul' },
      position: [37.4752, 127.0402],
    },
  ],
  messages: {},
  timeZone: 'Asia/Seoul',
};

export const JANGSAN: Area = {
  id: 'jangsan',
  name: {
    ko: '부산광역시 해운대구 우동 장산 급경사지',
    en: 'Jangsan steep slope, U-dong, Haeundae-gu, Busan',
  },
  issuer: { ko: '부산광역시 해운대구청', en: 'Haeundae-gu Office, Busan' },
  circle: { center: [35.1697, 129.1705], radiusKm: 0.8 },
  shelters: [
    {
      name: { ko: '해운대구 우1동 행정복지센터', en: 'U 1-dong Administrative Welfare Centre' },
      address: { ko: '부산광역시 해운대구 중동2로 11', en: '11 Jungdong 2-ro, Haeundae-gu, Busan' },
      position: [35.1652, 129.1667],
    },
  ],
  messages: {},
  timeZone: 'Asia/Seoul',
};

/** No shelter configured: the texts must still say what to do. */
export const OCHEON: Area = {
  id: 'ocheon',
  name: {
    ko: '경상북도 포항시 남구 오천읍 문덕리 급경사지 붕괴위험지역',
    en: 'Mundeok-ri collapse-risk slope, Ocheon-eup, Nam-gu, Pohang, Gyeongbuk',
  },
  issuer: { ko: '경상북도 포항시 남구청', en: 'Nam-gu Office, Pohang' },
  circle: { center: [35.9617, 129.4211], radiusKm: 0.5 },
  shelters: [],
  messages: {},
  timeZone: 'Asia/Seoul',
};

const pad = (s: string, n: number) => s.repeat(Math.ceil(n / s.length)).slice(0, n);

/** Every name at the schema's maximum length. */
export const LONGEST: Area = {
  id: 'longest',
  name: {
    ko: pad('강원특별자치도정선군북평면나전리', 60),
    en: pad('Najeon-ri Bukpyeong-myeon Jeongseon-gun ', 60),
  },
  issuer: { ko: pad('강원특별자치도정선군청', 30), en: pad('Jeongseon-gun Office Gangwon ', 30) },
  circle: { center: [37.4478, 128.6661], radiusKm: 1 },
  shelters: [
    {
      name: { ko: pad('정선군북평면행정복지센터대강당', 80), en: pad('Bukpyeong-myeon Welfare Centre ', 80) },
      address: { ko: pad('강원특별자치도 정선군 북평면 ', 160), en: pad('Bukpyeong-myeon ', 160) },
      position: [37.45, 128.67],
    },
  ],
  messages: {},
  timeZone: 'Asia/Seoul',
};

export const FIXTURE_AREAS: readonly Area[] = [UMYEONSAN, JANGSAN, OCHEON, LONGEST];
