import type { Outbox } from '../notify/outbox.ts';
import type { NotifyMessage } from '../notify/types.ts';
import type { Area, MessageKind } from './area.ts';
import { capCircle, capPolygon } from './cap.ts';
import type { WarningNotice } from './fanout.ts';

/**
 * The request to an SMS or messenger gateway (문자 발송 대행, 메신저 알림톡 bridge): one signed
 * webhook per area and level change, through the notify webhook channel (HMAC-SHA256 over timestamp
 * and body, a delivery id to de-duplicate on). It carries every form of the message in both
 * languages and the area's shape, so the provider, which holds the residents' phone numbers, picks
 * what its medium can show; Slopeguard never sees a phone number.
 *
 * `cellBroadcast` is the class a municipality would use for the same message (MOIS practice: 안전안내
 * for a safety notice, 긴급 for evacuation, which a landslide 경보 must use since February 2026), and
 * `preferredForm` says which text to send by SMS or broadcast: the 90-character form for
 * evacuation (MOIS keeps evacuation orders at 90 characters because phones made before 2019 show
 * no more), the 157-character form otherwise.
 */
export const GATEWAY_SCHEMA = 'slopeguard.warning/1';

export interface GatewayRequest {
  schema: typeof GATEWAY_SCHEMA;
  area: {
    id: string;
    name: { ko: string; en: string };
    issuer: { ko: string; en: string };
    /** CAP notation: "lat,lon lat,lon ..." (closed) */
    polygon?: string;
    /** CAP notation: "lat,lon radius_km" */
    circle?: string;
  };
  episode: string;
  level: number;
  kind: MessageKind;
  exercise: boolean;
  cellBroadcast: '안전안내' | '긴급';
  preferredForm: 'short' | 'long';
  forms: WarningNotice['rendered'];
  page?: string;
}

const CLASS: Record<MessageKind, GatewayRequest['cellBroadcast']> = {
  caution: '안전안내',
  warning: '긴급',
  serious: '긴급',
  all_clear: '안전안내',
};

export function gatewayRequest(n: WarningNotice, area: Area): GatewayRequest {
  const evacuate = n.kind === 'warning' || n.kind === 'serious';
  return {
    schema: GATEWAY_SCHEMA,
    area: {
      id: area.id,
      name: { ...area.name },
      issuer: { ...area.issuer },
      ...(area.polygon ? { polygon: capPolygon(area) } : {}),
      ...(area.circle ? { circle: capCircle(area) } : {}),
    },
    episode: n.alertId,
    level: n.level,
    kind: n.kind,
    exercise: n.exercise,
    cellBroadcast: CLASS[n.kind],
    preferredForm: evacuate ? 'short' : 'long',
    forms: n.rendered,
    ...(n.pageUrl ? { page: n.pageUrl } : {}),
  };
}

export function gatewayMessage(n: WarningNotice, area: Area): NotifyMessage {
  const req = gatewayRequest(n, area);
  return {
    subject: n.rendered.ko.subject,
    text: n.rendered.ko[req.preferredForm],
    data: { ...req },
  };
}

/**
 * Queues the request for the area's gateway. The recipient has no address: the provider knows
 * whom to send to. One per (alert, level, round): queuing it again returns the same delivery.
 */
export function enqueueGateway(outbox: Outbox, channel: string, n: WarningNotice, area: Area) {
  return outbox.enqueue({
    alertId: n.alertId,
    level: n.level,
    channel,
    recipient: { id: `gateway:${area.id}`, address: '' },
    round: n.round,
    message: gatewayMessage(n, area),
  });
}
