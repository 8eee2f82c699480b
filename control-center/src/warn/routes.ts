import { type Static, Type } from '@sinclair/typebox';
import { childLogger } from '@slopeguard/core/log.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { type AuthContext, auditRequest, guard } from '../http/auth.ts';
import { ErrorBody } from '../http/schemas.ts';
import type { Outbox } from '../notify/outbox.ts';
import { browserAsset } from './browser-assets.ts';
import { WarnError } from './errors.ts';
import { parseFormData } from './form-data.ts';
import { AddressLimiter } from './rate-limit.ts';
import { type CachedBody, EMAIL_CHANNEL, etagOf, type WarnService } from './service.ts';
import { enqueueConfirmation } from './subscriber-email.ts';
import { escapeXml as esc } from './xml.ts';

/**
 * The residents' routes (no sign-in): the CAP feed and messages, the public page of each area with
 * its two scripts, and the push and e-mail subscriptions; and the officials' routes: subscriber
 * counts, the subscriber list (admins, audited) and drills (operators, audited).
 *
 * Everything a browser sends here is hostile until checked: small bodies (2-4 KB), closed schemas,
 * a token bucket per remote address on every POST, and every refusal counted
 * (`slopeguard_warn_refused_total`) and logged at most once a minute per reason, never with the
 * address, the e-mail or the endpoint it carried. Answers never say whether an address is
 * subscribed.
 */
export interface WarnRouteDeps {
  warn: WarnService;
  outbox: () => Outbox | undefined;
  auth: AuthContext;
  metrics: Registry;
  logger: Logger;
  now: () => number;
}

const AreaId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const Lang = Type.Union([Type.Literal('ko'), Type.Literal('en')]);
const PushKeys = Type.Object(
  { p256dh: Type.String({ maxLength: 100 }), auth: Type.String({ maxLength: 40 }) },
  { additionalProperties: false },
);
const PushBody = Type.Union([
  Type.Object(
    {
      area: AreaId,
      lang: Type.Optional(Lang),
      subscription: Type.Object(
        {
          endpoint: Type.String({ maxLength: 1000 }),
          expirationTime: Type.Optional(Type.Union([Type.Null(), Type.Number()])),
          keys: PushKeys,
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { area: AreaId, unsubscribe: Type.String({ maxLength: 1000, description: 'the endpoint' }) },
    { additionalProperties: false },
  ),
]);
type PushBody = Static<typeof PushBody>;
const EmailForm = Type.Object(
  { area: AreaId, email: Type.String({ maxLength: 254 }), lang: Type.Optional(Lang) },
  { additionalProperties: false },
);
const TokenForm = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
/**
 * A mail client's one-click unsubscribe (RFC 8058 §3.2): the token is in the URL of the message's
 * List-Unsubscribe header, the body is only this field.
 */
const OneClickForm = Type.Object(
  { 'List-Unsubscribe': Type.Literal('One-Click') },
  { additionalProperties: false },
);
const UnsubscribeForm = Type.Union([TokenForm, OneClickForm]);
const PUBLIC = { security: [] as never[] };

const REFUSE_LOG_EVERY_MS = 60_000;

export async function registerWarnRoutes(app: FastifyInstance, d: WarnRouteDeps): Promise<void> {
  const { warn } = d;
  const log = childLogger(d.logger, { component: 'warn-http' });
  const refused = new Counter({
    name: 'slopeguard_warn_refused_total',
    help: 'Requests to the residents routes refused, by route and HTTP status',
    labelNames: ['route', 'status'],
    registers: [d.metrics],
  });
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  const limiter = new AddressLimiter({ ...warn.config.rateLimit, now: d.now });

  await app.register(async (scope) => {
    // Forms post without JavaScript: application/x-www-form-urlencoded, small, flat.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 2048 },
      (_req, body, done) => {
        const out: Record<string, string> = {};
        for (const [k, v] of new URLSearchParams(body as string)) {
          if (k in out)
            return done(Object.assign(new Error('a field was sent twice'), { statusCode: 400 }), undefined);
          out[k] = v;
        }
        done(null, out);
      },
    );
    // Mail clients' one-click unsubscribe SHOULD post multipart/form-data (RFC 8058 §3.2).
    scope.addContentTypeParser(
      'multipart/form-data',
      { parseAs: 'string', bodyLimit: 2048 },
      (req, body, done) => {
        const r = parseFormData(String(req.headers['content-type'] ?? ''), body as string);
        if (!r.ok) return done(Object.assign(new Error(r.error), { statusCode: 400 }), undefined);
        done(null, r.fields);
      },
    );
    scope.addHook('onResponse', async (req, reply) => {
      if (reply.statusCode < 400) return;
      const route = req.routeOptions.url ?? 'unknown';
      refused.inc({ route, status: String(reply.statusCode) });
      const key = `${route} ${reply.statusCode}`;
      const now = d.now();
      const l = lastLogged.get(key);
      if (l && now - l.at < REFUSE_LOG_EVERY_MS) {
        l.suppressed++;
        return;
      }
      lastLogged.set(key, { at: now, suppressed: 0 });
      if (lastLogged.size > 1000) lastLogged.clear();
      log.warn(
        { route, status: reply.statusCode, notLoggedSinceLast: l?.suppressed ?? 0 },
        'residents route refused a request',
      );
    });
    const limited = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!limiter.take(req.ip)) {
        reply.header('retry-after', '60');
        return reply
          .code(429)
          .send({ error: 'SG_ERR_RATE_LIMITED', message: 'too many requests; wait a minute' });
      }
    };

    const serve = (req: FastifyRequest, reply: FastifyReply, c: CachedBody) => {
      reply.headers(c.headers);
      if (req.headers['if-none-match'] === c.etag) return reply.code(304).send();
      return reply.send(c.body);
    };

    scope.get(
      '/cap/feed.xml',
      { schema: { tags: ['public'], summary: 'Atom feed of the CAP 1.2 messages, newest first', ...PUBLIC } },
      async (req, reply) => serve(req, reply, warn.feed()),
    );
    scope.get<{ Params: { area: string } }>(
      '/cap/areas/:area/feed.xml',
      {
        schema: {
          tags: ['public'],
          summary: 'Atom feed of the CAP messages of one area',
          params: Type.Object({ area: AreaId }),
          response: { 404: ErrorBody },
          ...PUBLIC,
        },
      },
      async (req, reply) => {
        if (!warn.areaOf(req.params.area)) return notFound(reply);
        return serve(req, reply, warn.feed(req.params.area));
      },
    );
    scope.get<{ Params: { file: string } }>(
      '/cap/alerts/:file',
      {
        schema: {
          tags: ['public'],
          summary: 'One CAP 1.2 message as published ({identifier}.xml)',
          params: Type.Object({ file: Type.String({ pattern: '^[^\\s<>&",]{1,300}\\.xml$' }) }),
          response: { 404: ErrorBody },
          ...PUBLIC,
        },
      },
      async (req, reply) => {
        const xml = warn.cap.xml(req.params.file.slice(0, -4));
        if (xml === undefined) return notFound(reply);
        const body = Buffer.from(xml);
        const etag = etagOf(body);
        // A published message never changes: it may be cached for a day.
        return serve(req, reply, {
          body,
          etag,
          headers: {
            'content-type': 'application/cap+xml; charset=utf-8',
            'cache-control': 'public, max-age=86400',
            etag,
          },
        });
      },
    );
    for (const name of ['sw.js', 'push.js'] as const) {
      const asset = browserAsset(name);
      const body = Buffer.from(asset.body);
      const etag = etagOf(body);
      const cached = { body, etag, headers: { ...asset.headers, etag } };
      scope.get(
        `/p/${name}`,
        {
          schema: {
            tags: ['public'],
            summary: name === 'sw.js' ? 'The service worker of the public pages' : 'The push button script',
            ...PUBLIC,
          },
        },
        async (req, reply) => serve(req, reply, cached),
      );
    }
    scope.get<{ Params: { area: string } }>(
      '/p/:area',
      {
        schema: {
          tags: ['public'],
          summary: 'The public page of an area: level, what to do, shelters (HTML, no sign-in)',
          params: Type.Object({ area: AreaId }),
          response: { 404: ErrorBody },
          ...PUBLIC,
        },
      },
      async (req, reply) => {
        const page = warn.page(req.params.area);
        if (!page) return notFound(reply);
        return serve(req, reply, page);
      },
    );

    scope.post<{ Body: PushBody }>(
      '/warn/push',
      {
        bodyLimit: 4096,
        preValidation: limited,
        schema: {
          tags: ['public'],
          summary: 'Subscribe this browser to an area, or unsubscribe it (by its endpoint)',
          body: PushBody,
          response: {
            201: Type.Object({ id: Type.String() }),
            200: Type.Object({ deleted: Type.Integer() }),
            400: ErrorBody,
            404: ErrorBody,
            413: ErrorBody,
            429: ErrorBody,
          },
          ...PUBLIC,
        },
      },
      async (req, reply) => {
        const store = warn.push;
        if (!store) return notFound(reply, 'web push is not offered here');
        const b = req.body;
        if (!warn.areaOf(b.area)) return notFound(reply);
        if ('unsubscribe' in b) return reply.send({ deleted: store.unsubscribeEndpoint(b.unsubscribe) });
        try {
          const id = store.subscribe(b.area, b.subscription, b.lang ?? 'ko');
          return reply.code(201).send({ id });
        } catch (err) {
          if (err instanceof WarnError)
            return reply.code(400).send({ error: 'SG_ERR_BAD_REQUEST', message: err.message });
          throw err;
        }
      },
    );

    scope.post<{ Body: Static<typeof EmailForm> }>(
      '/warn/email/subscribe',
      {
        bodyLimit: 2048,
        preValidation: limited,
        schema: {
          tags: ['public'],
          summary: 'Ask for warnings by e-mail (double opt-in: a confirmation mail follows)',
          body: EmailForm,
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          response: { 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 429: ErrorBody },
          ...PUBLIC,
        },
      },
      async (req, reply) => {
        const store = warn.email;
        const outbox = d.outbox();
        if (!store || !outbox) return notFound(reply, 'e-mail is not offered here');
        const area = warn.areaOf(req.body.area);
        if (!area) return notFound(reply);
        let r: { id: string; sendConfirmation: boolean };
        try {
          r = store.request(area.id, req.body.email, req.body.lang ?? 'ko');
        } catch (err) {
          if (err instanceof WarnError)
            return reply.code(400).send({ error: 'SG_ERR_BAD_REQUEST', message: 'not an e-mail address' });
          throw err;
        }
        if (r.sendConfirmation) enqueueConfirmation(outbox, EMAIL_CHANNEL, r.id, d.now());
        // The same answer whether the address was new, pending or active.
        return html(
          reply,
          202,
          '메일을 확인해 주세요 · Check your mail',
          [
            [
              `${area.name.ko} 경보 메일 신청을 받았습니다. 받은 메일의 링크를 열어 신청을 확인해 주세요.`,
              `We received your request for warnings about ${area.name.en}. Open the link in the mail we sent to confirm it.`,
            ],
          ],
          `/p/${area.id}`,
        );
      },
    );

    for (const action of ['confirm', 'unsubscribe'] as const) {
      const path = `/warn/email/${action}`;
      const label =
        action === 'confirm' ? (['신청 확인', 'Confirm'] as const) : (['수신 거부', 'Unsubscribe'] as const);
      scope.get<{ Querystring: { token?: string } }>(
        path,
        {
          schema: {
            tags: ['public'],
            summary: `The ${action} page of an e-mail link: a form, so a mail scanner opening the link changes nothing`,
            querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 100 })) }),
            ...PUBLIC,
          },
        },
        async (req, reply) => {
          const token = req.query.token ?? '';
          const form = `<form method="post" action="${path}"><input type="hidden" name="token" value="${esc(token)}"><button type="submit">${label[0]} · ${label[1]}</button></form>`;
          return html(reply, 200, `${label[0]} · ${label[1]}`, [], undefined, form);
        },
      );
      scope.post<{ Body: Static<typeof UnsubscribeForm>; Querystring: { token?: string } }>(
        path,
        {
          bodyLimit: 2048,
          preValidation: limited,
          schema: {
            tags: ['public'],
            summary:
              action === 'confirm'
                ? 'Confirm an e-mail subscription'
                : "Delete an e-mail subscription: the page's form (token in the body), or a mail client's one-click unsubscribe (RFC 8058: token in the URL, body List-Unsubscribe=One-Click)",
            body: action === 'confirm' ? TokenForm : UnsubscribeForm,
            ...(action === 'unsubscribe'
              ? { querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 100 })) }) }
              : {}),
            consumes: ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'],
            response: { 400: ErrorBody, 413: ErrorBody, 429: ErrorBody },
            ...PUBLIC,
          },
        },
        async (req, reply) => {
          const store = warn.email;
          if (!store) return notFound(reply, 'e-mail is not offered here');
          const token = 'token' in req.body ? req.body.token : (req.query.token ?? '');
          if (token === '') {
            return reply.code(400).send({
              error: 'SG_ERR_BAD_REQUEST',
              message: 'a one-click unsubscribe needs the token in its URL',
            });
          }
          if (action === 'confirm') {
            const r = store.confirm(token);
            if (!r.ok)
              return html(reply, 404, '확인하지 못했습니다 · Not confirmed', [
                [
                  '링크가 만료되었거나 이미 쓰였습니다. 다시 신청해 주세요.',
                  'The link has expired or was used already. Please subscribe again.',
                ],
              ]);
            return html(
              reply,
              200,
              '신청 완료 · Subscribed',
              [
                [
                  '경보 메일 신청이 확인되었습니다. 메일마다 수신 거부 링크가 있습니다.',
                  'Your subscription is confirmed. Every mail has a link to unsubscribe.',
                ],
              ],
              `/p/${r.area}`,
            );
          }
          store.unsubscribe(token);
          // The same answer whether or not there was a subscription: the token alone proves nothing.
          return html(reply, 200, '수신 거부 완료 · Unsubscribed', [
            [
              '메일 주소를 지웠습니다. 더 이상 경보 메일을 보내지 않습니다.',
              'Your address is deleted. No more warning mails.',
            ],
          ]);
        },
      );
    }
  });

  // Officials' views and drills.
  const AreaCount = Type.Object({
    area: Type.String(),
    site: Type.String(),
    push: Type.Integer(),
    emailActive: Type.Integer(),
    emailPending: Type.Integer(),
  });
  app.get(
    '/api/v1/warn/areas',
    {
      schema: {
        tags: ['warnings'],
        summary: 'The warning areas with their subscriber counts (no personal data)',
        response: { 200: Type.Object({ areas: Type.Array(AreaCount) }), 401: ErrorBody, 403: ErrorBody },
      },
      preValidation: guard(d.auth, 'read'),
    },
    async () => {
      const counts = new Map(warn.counts().map((c) => [c.area, c]));
      return {
        areas: warn.areas().map((a) => ({
          area: a.id,
          site: a.site,
          push: counts.get(a.id)?.push ?? 0,
          emailActive: counts.get(a.id)?.emailActive ?? 0,
          emailPending: counts.get(a.id)?.emailPending ?? 0,
        })),
      };
    },
  );
  const Subscriber = Type.Object({
    id: Type.String(),
    kind: Type.Union([Type.Literal('push'), Type.Literal('email')]),
    lang: Lang,
    state: Type.String(),
    /** E-mail: the address; push: only the push service's host (the endpoint is a secret URL). */
    contact: Type.String(),
    created: Type.Integer(),
  });
  app.get<{ Params: { area: string } }>(
    '/api/v1/warn/areas/:area/subscribers',
    {
      schema: {
        tags: ['warnings'],
        summary: "An area's subscribers (admins only; every view is audited)",
        params: Type.Object({ area: AreaId }),
        response: {
          200: Type.Object({ subscribers: Type.Array(Subscriber) }),
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
      preValidation: guard(d.auth, 'admin'),
    },
    async (req, reply) => {
      if (!warn.areaOf(req.params.area)) return notFound(reply);
      const subscribers = warn.subscribers(req.params.area);
      // Who looked at whose data: the audit names the area and how many, never an address.
      auditRequest(d.auth, req, {
        action: 'warn.subscribers.view',
        target: `area:${req.params.area}`,
        outcome: 'ok',
        detail: { count: subscribers.length },
      });
      return { subscribers };
    },
  );
  app.post<{ Body: { area: string; level: 0 | 2 | 3 | 4 } }>(
    '/api/v1/warn/drills',
    {
      schema: {
        tags: ['warnings'],
        summary: 'Send a drill (훈련) to an area: level 2-4 warns, 0 ends the drill with the all-clear',
        body: Type.Object(
          {
            area: AreaId,
            level: Type.Union([Type.Literal(0), Type.Literal(2), Type.Literal(3), Type.Literal(4)]),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            area: Type.String(),
            episode: Type.String(),
            identifier: Type.String(),
            msgType: Type.String(),
            created: Type.Boolean(),
          }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
      preValidation: guard(d.auth, 'operator', 'warn.drill'),
    },
    async (req, reply) => {
      const r = warn.drill(req.body.area, req.body.level, d.now());
      if (!r) return notFound(reply);
      auditRequest(d.auth, req, {
        action: 'warn.drill',
        target: `area:${req.body.area}`,
        outcome: 'ok',
        detail: { level: req.body.level, cap: r.identifier, msgType: r.msgType },
      });
      return r;
    },
  );
}

function notFound(reply: FastifyReply, message = 'no such area or message') {
  return reply.code(404).send({ error: 'SG_ERR_NOT_FOUND', message });
}

/** A small bilingual page (the answer to a form post). */
function html(
  reply: FastifyReply,
  status: number,
  title: string,
  paragraphs: readonly (readonly [string, string])[],
  back?: string,
  extra = '',
) {
  const body = `<!doctype html><html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>body{font:17px/1.5 system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}button{font:inherit;padding:.4rem 1rem}</style></head><body><h1>${esc(title)}</h1>${paragraphs
    .map(([ko, en]) => `<p>${esc(ko)}<br><span lang="en">${esc(en)}</span></p>`)
    .join('')}${extra}${back ? `<p><a href="${esc(back)}">← 돌아가기 · Back</a></p>` : ''}</body></html>`;
  return reply
    .code(status)
    .headers({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    })
    .send(body);
}
