import type { Area, MessageKind } from './area.ts';
import { closedRing } from './area.ts';
import { LANGS, type Lang, renderWarning } from './messages.ts';
import { escapeXml } from './xml.ts';

/**
 * CAP 1.2 messages (OASIS, "Common Alerting Protocol Version 1.2", 2010; ITU-T X.1303; KS X ITU-T
 * X.1303 in Korea). An episode of an area goes Alert -> Update(s) -> Cancel; each later message
 * names every earlier one of the episode in `<references>` (CAP 1.2 3.2.1 references: "sender,
 * identifier,sent" triples separated by spaces). One `<info>` per language (ko-KR, en-US), category
 * Geo, the level mapped to urgency, severity and certainty by `CAP_MAPPING` (docs/warnings.md gives
 * the reasoning). Element order follows the XSD's sequences; the tests validate every message
 * against control-center/standards/CAP-v1.2.xsd with xmllint.
 */
export const CAP_NS = 'urn:oasis:names:tc:emergency:cap:1.2';

export type CapMsgType = 'Alert' | 'Update' | 'Cancel';
type Urgency = 'Immediate' | 'Expected' | 'Future' | 'Past';
type Severity = 'Extreme' | 'Severe' | 'Moderate' | 'Minor';
type Certainty = 'Observed' | 'Likely' | 'Possible';
type ResponseType = 'Evacuate' | 'Prepare' | 'Avoid' | 'Monitor' | 'AllClear';

export interface CapMapping {
  urgency: Urgency;
  severity: Severity;
  certainty: Certainty;
  responseTypes: readonly ResponseType[];
}

/** The level of each resident message kind in CAP terms (CAP 1.2 3.2.2). */
export const CAP_MAPPING: Readonly<Record<MessageKind, CapMapping>> = {
  caution: {
    urgency: 'Expected',
    severity: 'Moderate',
    certainty: 'Possible',
    responseTypes: ['Avoid', 'Prepare'],
  },
  warning: {
    urgency: 'Immediate',
    severity: 'Severe',
    certainty: 'Likely',
    responseTypes: ['Evacuate', 'Prepare'],
  },
  serious: { urgency: 'Immediate', severity: 'Extreme', certainty: 'Likely', responseTypes: ['Evacuate'] },
  all_clear: { urgency: 'Past', severity: 'Minor', certainty: 'Observed', responseTypes: ['AllClear'] },
};

const LANGUAGE: Record<Lang, string> = { ko: 'ko-KR', en: 'en-US' };
const EVENT: Record<Lang, string> = { ko: '급경사지 붕괴 위험', en: 'Slope failure risk' };

export interface CapReference {
  sender: string;
  identifier: string;
  /** The `sent` value exactly as in the referenced message. */
  sent: string;
}

export interface CapInput {
  identifier: string;
  /** Globally unique sender id, e.g. "slopeguard@seocho.go.kr": no spaces, commas, < or &. */
  sender: string;
  sentAt: number;
  msgType: CapMsgType;
  exercise: boolean;
  area: Area;
  kind: MessageKind;
  references: readonly CapReference[];
  /** The episode, for `<incidents>`. */
  incident: string;
  /** The area's public page. */
  web?: string;
}

export interface CapMessage {
  identifier: string;
  sender: string;
  sent: string;
  msgType: CapMsgType;
  xml: string;
}

/**
 * `sent` with the area's UTC offset and whole seconds, the only form the XSD pattern admits; UTC is
 * written -00:00, as CAP 1.2 3.3.2 requires.
 */
export function capDateTime(epochMs: number, timeZone: string): string {
  const ms = Math.floor(epochMs / 1000) * 1000;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const local = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  const offsetMin = Math.round((Date.parse(`${local}Z`) - ms) / 60_000);
  const sign = offsetMin > 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** CAP identifiers and senders must not contain spaces, commas or the restricted < and &. */
export function capToken(s: string): string {
  return s.replace(/[\s,<&>"']+/g, '-');
}

export function buildCap(input: CapInput): CapMessage {
  const sent = capDateTime(input.sentAt, input.area.timeZone);
  const sender = capToken(input.sender);
  const identifier = capToken(input.identifier);
  const texts = renderWarning({
    area: input.area,
    kind: input.kind,
    exercise: input.exercise,
    issuedAt: input.sentAt,
    pageUrl: input.web,
  });
  const m = CAP_MAPPING[input.kind];
  const lines: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<alert xmlns="${CAP_NS}">`,
    el('identifier', identifier),
    el('sender', sender),
    el('sent', sent),
    el('status', input.exercise ? 'Exercise' : 'Actual'),
    el('msgType', input.msgType),
    el('scope', 'Public'),
  ];
  if (input.msgType === 'Cancel') lines.push(el('note', 'All clear: the danger has passed. 위험 해제.'));
  if (input.references.length > 0)
    lines.push(
      el(
        'references',
        input.references.map((r) => `${capToken(r.sender)},${capToken(r.identifier)},${r.sent}`).join(' '),
      ),
    );
  lines.push(el('incidents', capToken(input.incident)));
  for (const lang of LANGS) {
    const t = texts[lang];
    lines.push('  <info>');
    lines.push(el('language', LANGUAGE[lang], 2));
    lines.push(el('category', 'Geo', 2));
    lines.push(el('event', EVENT[lang], 2));
    for (const r of m.responseTypes) lines.push(el('responseType', r, 2));
    lines.push(el('urgency', m.urgency, 2), el('severity', m.severity, 2), el('certainty', m.certainty, 2));
    lines.push(el('senderName', input.area.issuer[lang], 2));
    lines.push(el('headline', t.subject, 2));
    lines.push(el('description', t.full, 2));
    lines.push(el('instruction', t.long, 2));
    if (input.web) lines.push(el('web', input.web, 2));
    lines.push(
      '    <parameter>',
      el('valueName', 'slopeguardLevel', 3),
      el('value', kindLevel(input.kind), 3),
    );
    lines.push('    </parameter>');
    lines.push('    <area>', el('areaDesc', input.area.name[lang], 3));
    if (input.area.polygon) lines.push(el('polygon', capPolygon(input.area), 3));
    if (input.area.circle) lines.push(el('circle', capCircle(input.area), 3));
    lines.push('    </area>', '  </info>');
  }
  lines.push('</alert>', '');
  return { identifier, sender, sent, msgType: input.msgType, xml: lines.join('\n') };
}

function kindLevel(kind: MessageKind): string {
  return { caution: '2', warning: '3', serious: '4', all_clear: '0' }[kind];
}

/** "lat,lon lat,lon ...", closed: the first pair repeated last (CAP 1.2 3.2.4, >= 4 pairs). */
export function capPolygon(area: Area): string {
  return closedRing(area.polygon ?? [])
    .map(([lat, lon]) => `${coord(lat)},${coord(lon)}`)
    .join(' ');
}

/** "lat,lon radius" with the radius in kilometres (CAP 1.2 3.2.4). */
export function capCircle(area: Area): string {
  const c = area.circle;
  if (!c) return '';
  return `${coord(c.center[0])},${coord(c.center[1])} ${Number(c.radiusKm.toFixed(3))}`;
}

/** WGS 84 decimal degrees, never in exponent form; 6 decimals is about 0.1 m. */
function coord(n: number): string {
  return String(Number(n.toFixed(6)));
}

function el(name: string, value: string, depth = 1): string {
  return `${'  '.repeat(depth)}<${name}>${escapeXml(value)}</${name}>`;
}
