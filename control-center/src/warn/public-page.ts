import { createHash } from 'node:crypto';
import { LEVEL_NAMES, type Level } from '@slopeguard/core';
import type { Area, MessageKind } from './area.ts';
import { formatTime, type Lang, warningSentences } from './messages.ts';
import { escapeXml as esc } from './xml.ts';

/**
 * The public page of an area, `/p/{area}`: no sign-in, server-rendered HTML that works without
 * JavaScript, small (well under 50 KB), Korean first and English beside it. It shows the current
 * level in colour, shape and words (so it reads in grey scale and for colour-blind people), what to
 * do, the shelters, the time of the last update, and "측정 중단 / No data" as a state of its own that
 * looks nothing like Normal. It links to the subscriptions and the CAP messages. It contains no
 * personal data: it is built from the area's configuration and its state only.
 *
 * A pure function: the control center renders it when the state changes and serves the bytes with
 * `headers` (cache policy in docs/warnings.md).
 */
export type AreaState =
  | { kind: 'level'; level: Level; exercise: boolean; updatedAt: number }
  | { kind: 'no_data'; updatedAt: number; lastDataAt?: number };

export interface PageLinks {
  /** The area's CAP Atom feed. */
  capFeed: string;
  /** Where the e-mail form posts (fields: area, email, lang); no form when e-mail is not offered. */
  emailSubscribe?: string;
  /** Web push: the page works without it; the button stays hidden until push.js shows it. */
  push?: {
    /** URL of browser/push.js. */
    script: string;
    /** URL of browser/sw.js; its folder is the worker's scope (e.g. /p/sw.js for /p/...). */
    serviceWorker: string;
    /** Where push.js posts {area, lang, subscription} or {area, unsubscribe}. */
    action: string;
    vapidPublicKey: string;
  };
}

export interface PageInput {
  area: Area;
  state: AreaState;
  links: PageLinks;
}

export interface RenderedPage {
  html: string;
  headers: Record<string, string>;
}

/** Colours of Korea's crisis levels (관심 blue, 주의 yellow, 경계 orange, 심각 red), green for normal. */
const STYLE: Record<Level | 'no_data', { bg: string; fg: string; shape: string }> = {
  0: { bg: '#1b7f3b', fg: '#fff', shape: '<circle cx="24" cy="24" r="18"/>' },
  1: { bg: '#1f5fbf', fg: '#fff', shape: '<rect x="7" y="7" width="34" height="34"/>' },
  2: { bg: '#f2c200', fg: '#000', shape: '<polygon points="24,4 44,42 4,42"/>' },
  3: { bg: '#e86a00', fg: '#000', shape: '<polygon points="24,2 46,24 24,46 2,24"/>' },
  4: {
    bg: '#c8102e',
    fg: '#fff',
    shape: '<polygon points="16,3 32,3 45,16 45,32 32,45 16,45 3,32 3,16"/>',
  },
  no_data: {
    bg: '#5f6368',
    fg: '#fff',
    shape:
      '<circle cx="24" cy="24" r="18" fill="none" stroke="currentColor" stroke-width="4" stroke-dasharray="6 5"/><text x="24" y="32" text-anchor="middle" font-size="24" font-weight="bold">?</text>',
  },
};

const KIND: Partial<Record<Level, MessageKind>> = { 2: 'caution', 3: 'warning', 4: 'serious' };

const TEXT = {
  ko: {
    title: '급경사지 경보',
    now: '현재 단계',
    todo: '할 일',
    shelters: '대피소',
    updated: '마지막 갱신',
    lastData: '마지막 측정',
    normal: '알려진 위험이 없습니다. 비가 많이 오면 비탈면에 가까이 가지 마세요.',
    attention: '관계 기관이 비탈면을 지켜보고 있습니다. 주민이 할 일은 아직 없습니다.',
    noData: '측정 중단',
    noDataWhat: '지금 비탈면의 상태를 알 수 없습니다. 정상이라는 뜻이 아닙니다.',
    noDataTodo: '비가 많이 오거나 돌이 떨어지면 비탈면에 가까이 가지 말고 안내 방송에 따르세요.',
    drill: '훈련 중입니다. 실제 상황이 아닙니다.',
    subscribe: '경보 받기',
    email: '이메일',
    emailButton: '메일로 받기',
    push: '이 기기로 알림 받기',
    pushOff: '이 기기 알림 끄기',
    pushFailed: '알림을 켜지 못했습니다',
    pushNoJs: '기기 알림은 자바스크립트가 켜져 있어야 합니다.',
    cap: 'CAP 경보 메시지 (기관·앱용)',
    map: '지도',
    none: '지정 대피소 정보가 없습니다. 비탈면에서 먼 튼튼한 건물로 가세요.',
  },
  en: {
    title: 'Slope warning',
    now: 'Current level',
    todo: 'What to do',
    shelters: 'Shelters',
    updated: 'Last update',
    lastData: 'Last measurement',
    normal: 'No danger is known. In heavy rain, keep away from the slope.',
    attention: 'Officials are watching the slope. Nothing for residents to do yet.',
    noData: 'No data',
    noDataWhat: 'The state of the slope is unknown right now. This does not mean normal.',
    noDataTodo: 'In heavy rain or if stones fall, keep away from the slope and follow local announcements.',
    drill: 'This is a drill. It is not a real emergency.',
    subscribe: 'Get warnings',
    email: 'E-mail',
    emailButton: 'Subscribe by e-mail',
    push: 'Notify this device',
    pushOff: 'Stop notifying this device',
    pushFailed: 'Could not turn on notifications',
    pushNoJs: 'Device notifications need JavaScript.',
    cap: 'CAP alert messages (for agencies and apps)',
    map: 'map',
    none: 'No designated shelter is listed. Go to a solid building away from the slope.',
  },
} as const;

/** Both languages of one text: Korean, then English marked as such. */
function both(ko: string, en: string, tag = 'p'): string {
  return `<${tag}>${esc(ko)}<br><span lang="en">${esc(en)}</span></${tag}>`;
}

export function renderPublicPage(input: PageInput): RenderedPage {
  const { area, state, links } = input;
  const key = state.kind === 'no_data' ? 'no_data' : state.level;
  const style = STYLE[key];
  const exercise = state.kind === 'level' && state.exercise;
  const label = (lang: Lang) =>
    state.kind === 'no_data' ? TEXT[lang].noData : LEVEL_NAMES[state.level][lang];
  const level = state.kind === 'level' ? state.level : undefined;
  const kind = level !== undefined ? KIND[level] : undefined;

  const what: Record<Lang, string> = { ko: '', en: '' };
  const todo: Record<Lang, string> = { ko: '', en: '' };
  for (const lang of ['ko', 'en'] as const) {
    if (state.kind === 'no_data') {
      what[lang] = TEXT[lang].noDataWhat;
      todo[lang] = TEXT[lang].noDataTodo;
    } else if (kind) {
      const s = warningSentences(area, kind, lang);
      what[lang] = `${s.what} ${s.why}`;
      todo[lang] = s.act;
    } else {
      what[lang] = level === 1 ? TEXT[lang].attention : TEXT[lang].normal;
    }
  }

  const time = (ms: number, lang: Lang) => esc(formatTime(ms, area.timeZone, lang));
  const iso = (ms: number) => new Date(ms).toISOString();
  const shelters =
    area.shelters.length === 0
      ? both(TEXT.ko.none, TEXT.en.none)
      : `<ol>${area.shelters
          .map(
            (s) =>
              `<li><b>${esc(s.name.ko)}</b> <span lang="en">${esc(s.name.en)}</span><br>${esc(s.address.ko)}` +
              ` · <span lang="en">${esc(s.address.en)}</span> <a href="geo:${s.position[0]},${s.position[1]}">${TEXT.ko.map} ${TEXT.en.map}</a></li>`,
          )
          .join('')}</ol>`;

  const html = `<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>${esc(exercise ? '[훈련] ' : '')}${esc(label('ko'))} ${esc(label('en'))} · ${esc(area.name.ko)}</title>
<style>
body{margin:0;font:17px/1.5 system-ui,"Noto Sans CJK KR","Noto Sans KR",sans-serif;color:#111;background:#fff}
main{max-width:40rem;margin:0 auto;padding:0 1rem 2rem}
h1{font-size:1.2rem;margin:1rem 0 .5rem}
.level{display:flex;align-items:center;gap:1rem;padding:1rem;border-radius:.5rem;background:${style.bg};color:${style.fg}}
.level svg{flex:none;width:4rem;height:4rem;fill:currentColor}
.level strong{display:block;font-size:2rem;line-height:1.1}
.nodata{background-image:repeating-linear-gradient(45deg,transparent 0 12px,rgba(255,255,255,.15) 12px 24px)}
.drill{border:3px dashed #000;padding:.5rem;font-weight:bold;margin:.5rem 0}
h2{font-size:1.05rem;margin:1.25rem 0 .25rem}
[lang=en]{color:#333}
.level [lang=en],.level small{color:inherit}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
input,select,button{font:inherit;padding:.4rem}
small{color:#444}
</style>
</head>
<body>
<main>
<h1>${esc(area.name.ko)}<br><span lang="en">${esc(area.name.en)}</span></h1>
${exercise ? `<p class="drill" role="note">[훈련] ${esc(TEXT.ko.drill)}<br><span lang="en">[DRILL] ${esc(TEXT.en.drill)}</span></p>` : ''}
<section class="level${state.kind === 'no_data' ? ' nodata' : ''}" role="status" aria-live="polite" data-level="${state.kind === 'no_data' ? 'no_data' : state.level}">
<svg viewBox="0 0 48 48" aria-hidden="true">${style.shape}</svg>
<div><small>${TEXT.ko.now} <span lang="en">${TEXT.en.now}</span></small><strong>${state.kind === 'level' ? `${state.level} ` : ''}${esc(label('ko'))} <span lang="en">${esc(label('en'))}</span></strong></div>
</section>
${both(what.ko, what.en)}
${todo.ko ? `<h2>${TEXT.ko.todo} <span lang="en">${TEXT.en.todo}</span></h2>\n<p><b>${esc(todo.ko)}</b><br><b lang="en">${esc(todo.en)}</b></p>` : ''}
<h2>${TEXT.ko.shelters} <span lang="en">${TEXT.en.shelters}</span></h2>
${shelters}
<p><small>${TEXT.ko.updated} <span lang="en">${TEXT.en.updated}</span>: <time datetime="${iso(state.updatedAt)}">${time(state.updatedAt, 'ko')} · ${time(state.updatedAt, 'en')}</time>${
    state.kind === 'no_data' && state.lastDataAt !== undefined
      ? `<br>${TEXT.ko.lastData} <span lang="en">${TEXT.en.lastData}</span>: <time datetime="${iso(state.lastDataAt)}">${time(state.lastDataAt, 'ko')}</time>`
      : ''
  }</small></p>
<h2>${TEXT.ko.subscribe} <span lang="en">${TEXT.en.subscribe}</span></h2>
${
  links.emailSubscribe
    ? `<form method="post" action="${esc(links.emailSubscribe)}">
<input type="hidden" name="area" value="${esc(area.id)}">
<label>${TEXT.ko.email} <span lang="en">${TEXT.en.email}</span> <input type="email" name="email" required maxlength="254" autocomplete="email"></label>
<select name="lang" aria-label="언어 Language"><option value="ko">한국어</option><option value="en">English</option></select>
<button type="submit">${TEXT.ko.emailButton} · ${TEXT.en.emailButton}</button>
</form>`
    : ''
}
${
  links.push
    ? `<p><button type="button" id="push" data-area="${esc(area.id)}" data-key="${esc(links.push.vapidPublicKey)}" data-sw="${esc(links.push.serviceWorker)}" data-action="${esc(links.push.action)}" data-off="${TEXT.ko.pushOff} · ${TEXT.en.pushOff}" data-failed="${TEXT.ko.pushFailed} · ${TEXT.en.pushFailed}" hidden>${TEXT.ko.push} · ${TEXT.en.push}</button></p>
<noscript><p><small>${TEXT.ko.pushNoJs} <span lang="en">${TEXT.en.pushNoJs}</span></small></p></noscript>
<script src="${esc(links.push.script)}" defer></script>`
    : ''
}
<p><a href="${esc(links.capFeed)}" type="application/atom+xml">${TEXT.ko.cap} · <span lang="en">${TEXT.en.cap}</span></a></p>
<p><small>${esc(area.issuer.ko)} · <span lang="en">${esc(area.issuer.en)}</span></small></p>
</main>
</body>
</html>
`;
  const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 22)}"`;
  return { html, headers: pageHeaders(etag) };
}

/**
 * The cache policy (docs/warnings.md): shared caches may keep the page 15 s and serve it up to 45 s
 * stale while they fetch a new one, so a storm of readers costs the server about one render per
 * cache per 15 s; if the server is unreachable a cache may show the last page for a day, which
 * still shows its own update time. The ETag lets caches and browsers revalidate with a 304.
 */
export function pageHeaders(etag: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'public, max-age=15, stale-while-revalidate=45, stale-if-error=86400',
    etag,
    vary: 'Accept-Encoding',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}
