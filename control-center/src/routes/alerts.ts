import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Alert, AlertStore } from '../alerts/alert-store.ts';
import { type AuthContext, actorOf, auditRequest, guard } from '../http/auth.ts';
import { ApiError } from '../http/errors.ts';
import { ErrorBody, SiteParam } from '../http/schemas.ts';

const AlertSchema = Type.Object({
  id: Type.Integer(),
  site: Type.String(),
  opened: Type.Integer(),
  updated: Type.Integer(),
  cleared: Type.Union([Type.Integer(), Type.Null()]),
  level: Type.Integer(),
  maxLevel: Type.Integer(),
  dataState: Type.String(),
  acknowledged: Type.Union([Type.Integer(), Type.Null()]),
  ackBy: Type.Union([Type.String(), Type.Null()]),
  ackComment: Type.Union([Type.String(), Type.Null()]),
});
const EventSchema = Type.Object({
  id: Type.Integer(),
  alertId: Type.Integer(),
  ts: Type.Integer(),
  kind: Type.String(),
  actor: Type.Union([Type.String(), Type.Null()]),
  level: Type.Union([Type.Integer(), Type.Null()]),
  dataState: Type.Union([Type.String(), Type.Null()]),
  text: Type.Union([Type.String(), Type.Null()]),
});
const IdParam = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const Comment = Type.Object(
  { comment: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);
const Reason = Type.Object(
  { reason: Type.String({ minLength: 3, maxLength: 1000 }) },
  { additionalProperties: false },
);
const ManualBody = Type.Object(
  { level: Type.Integer({ minimum: 0, maximum: 4 }), reason: Type.String({ minLength: 3, maxLength: 1000 }) },
  { additionalProperties: false },
);
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const LevelResult = Type.Object({ site: Type.String(), level: Type.Integer(), engineLevel: Type.Integer() });

/** What the routes need from the rest of the control center. */
export interface SiteActions {
  now(): number;
  /** The engine's level of a site, or undefined when the site has no engine. */
  engineLevel(site: string): number | undefined;
  officialLevel(site: string): number;
  /** Re-publishes the official level and re-evaluates the alert after a manual change. */
  refresh(site: string): void;
  /** The engine's release input: true when level 4 was released. */
  release(site: string, operator: string): boolean;
  alertChanged(a: Alert): void;
}

/**
 * Alerts with their history; acknowledge and comment; a manual level (held until an operator
 * lowers it, never below the engine); release of level 4 through the engine. Operators and admins
 * act; viewers and read tokens only read. Every action is audited, refused or not.
 */
export function registerAlertRoutes(
  app: FastifyInstance,
  ctx: AuthContext,
  store: AlertStore,
  act: SiteActions,
): void {
  const mustAlert = (id: number) => {
    const a = store.get(id);
    if (!a) throw new ApiError('SG_ERR_NO_ALERT', `no alert ${id}`);
    return a;
  };

  app.get<{ Querystring: { state?: 'active' | 'cleared' | 'all'; site?: string } }>(
    '/api/v1/alerts',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, newest first',
        querystring: Type.Object({
          state: Type.Optional(
            Type.Union([Type.Literal('active'), Type.Literal('cleared'), Type.Literal('all')]),
          ),
          site: Type.Optional(SiteParam.properties.site),
        }),
        response: { 200: Type.Object({ alerts: Type.Array(AlertSchema) }), ...errors },
      },
      preValidation: guard(ctx, 'read'),
    },
    async (req) => {
      const state = req.query.state ?? 'active';
      return {
        alerts: store.list({
          ...(state === 'all' ? {} : { active: state === 'active' }),
          ...(req.query.site ? { site: req.query.site } : {}),
        }),
      };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/alerts/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'One alert and every change of it',
        params: IdParam,
        response: { 200: Type.Object({ alert: AlertSchema, history: Type.Array(EventSchema) }), ...errors },
      },
      preValidation: guard(ctx, 'read'),
    },
    async (req) => ({ alert: mustAlert(req.params.id), history: store.history(req.params.id) }),
  );

  app.post<{ Params: { id: number }; Body: { comment: string } }>(
    '/api/v1/alerts/:id/ack',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge an alert with a comment',
        params: IdParam,
        body: Comment,
        response: { 200: AlertSchema, ...errors },
      },
      preValidation: guard(ctx, 'operator', 'alert.ack'),
    },
    async (req) => {
      const before = mustAlert(req.params.id);
      if (before.acknowledged !== null)
        throw new ApiError('SG_ERR_CONFLICT', `alert ${before.id} is already acknowledged`);
      const a = store.acknowledge(before.id, actorOf(req.principal), req.body.comment, act.now());
      auditRequest(ctx, req, {
        action: 'alert.ack',
        target: `alert:${a.id}`,
        outcome: 'ok',
        detail: { site: a.site, comment: req.body.comment },
      });
      act.alertChanged(a);
      return a;
    },
  );

  app.post<{ Params: { id: number }; Body: { comment: string } }>(
    '/api/v1/alerts/:id/comments',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Comment on an alert',
        params: IdParam,
        body: Comment,
        response: { 200: AlertSchema, ...errors },
      },
      preValidation: guard(ctx, 'operator', 'alert.comment'),
    },
    async (req) => {
      const a = mustAlert(req.params.id);
      store.addEvent({
        alertId: a.id,
        ts: act.now(),
        kind: 'comment',
        actor: actorOf(req.principal),
        level: null,
        dataState: null,
        text: req.body.comment,
      });
      auditRequest(ctx, req, {
        action: 'alert.comment',
        target: `alert:${a.id}`,
        outcome: 'ok',
        detail: { site: a.site, comment: req.body.comment },
      });
      act.alertChanged(a);
      return a;
    },
  );

  app.post<{ Params: { site: string }; Body: { level: number; reason: string } }>(
    '/api/v1/sites/:site/manual-level',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Raise a site level by hand (held until an operator lowers it); never below the engine',
        params: SiteParam,
        body: ManualBody,
        response: { 200: LevelResult, ...errors },
      },
      preValidation: guard(ctx, 'operator', 'site.manual_level'),
    },
    async (req) => {
      const { site } = req.params;
      const engine = act.engineLevel(site);
      if (engine === undefined) throw new ApiError('SG_ERR_NO_SITE', `site ${site} has no alert engine`);
      const { level, reason } = req.body;
      const actor = actorOf(req.principal);
      if (level < engine) {
        auditRequest(ctx, req, {
          action: 'site.manual_level',
          target: site,
          outcome: 'refused',
          detail: { level, engine, reason },
        });
        throw new ApiError(
          'SG_ERR_LEVEL_BELOW_ENGINE',
          `the engine says ${engine}; a level below it is refused`,
        );
      }
      if (level > engine) store.setManual({ site, level, actor, reason, ts: act.now() });
      else store.clearManual(site);
      act.refresh(site);
      const alert = store.active(site);
      if (alert) {
        store.addEvent({
          alertId: alert.id,
          ts: act.now(),
          kind: 'manual_level',
          actor,
          level,
          dataState: null,
          text: reason,
        });
        act.alertChanged(store.get(alert.id) as Alert);
      }
      auditRequest(ctx, req, {
        action: 'site.manual_level',
        target: site,
        outcome: 'ok',
        detail: { level, engine, reason },
      });
      return { site, level: act.officialLevel(site), engineLevel: engine };
    },
  );

  app.post<{ Params: { site: string }; Body: { reason: string } }>(
    '/api/v1/sites/:site/release',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Release level 4 (the engine release input), with a reason',
        params: SiteParam,
        body: Reason,
        response: { 200: LevelResult, ...errors },
      },
      preValidation: guard(ctx, 'operator', 'site.release'),
    },
    async (req) => {
      const { site } = req.params;
      const engine = act.engineLevel(site);
      if (engine === undefined) throw new ApiError('SG_ERR_NO_SITE', `site ${site} has no alert engine`);
      const actor = actorOf(req.principal);
      const released = act.release(site, actor);
      auditRequest(ctx, req, {
        action: 'site.release',
        target: site,
        outcome: released ? 'ok' : 'refused',
        detail: { reason: req.body.reason, engine },
      });
      if (!released)
        throw new ApiError(
          'SG_ERR_RELEASE_REFUSED',
          engine < 4 ? `level is ${engine}, not 4` : 'level 4 is still triggered',
        );
      const alert = store.active(site);
      if (alert) {
        store.addEvent({
          alertId: alert.id,
          ts: act.now(),
          kind: 'release',
          actor,
          level: act.engineLevel(site) ?? null,
          dataState: null,
          text: req.body.reason,
        });
        act.alertChanged(store.get(alert.id) as Alert);
      }
      return { site, level: act.officialLevel(site), engineLevel: act.engineLevel(site) ?? 0 };
    },
  );
}
