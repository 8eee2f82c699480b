import type { DatabaseSync } from 'node:sqlite';
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AlertStore } from '../alerts/alert-store.ts';
import { type AuthContext, guard } from '../http/auth.ts';
import { ApiError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';
import type { EscalationPolicy } from '../notify/escalation.ts';
import { escalationOf, notificationsOf } from '../notify/query.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const Notification = Type.Object({
  deliveryId: Type.String(),
  channel: Type.String(),
  recipientId: Type.String({ description: 'the contact label of the escalation chain ("duty-officer")' }),
  address: Type.String({
    description: "the contact's address: full for admins, masked (middle hidden) for everyone else",
  }),
  level: Type.Integer(),
  round: Type.String({ description: '`g{generation}.r{reminder}` (r0: first notice of a tier) or `clear`' }),
  state: Type.Union([Type.Literal('queued'), Type.Literal('sent'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  created: Type.Integer(),
  updated: Type.Integer(),
  lastAttempt: Nullable(Type.Integer()),
  sent: Nullable(Type.Integer()),
});
const Tier = Type.Object({
  tier: Type.Integer({ minimum: 1 }),
  dueAt: Nullable(Type.Integer()),
  toldAt: Nullable(Type.Integer()),
  contacts: Type.Array(Type.String()),
});
const Escalation = Type.Object({
  chain: Type.String(),
  minLevel: Type.Integer(),
  running: Type.Boolean(),
  startedAt: Nullable(Type.Integer()),
  reached: Type.Integer({ description: 'tiers told so far' }),
  tiers: Type.Array(Tier),
  nextTierAt: Nullable(Type.Integer()),
  nextReminderAt: Nullable(Type.Integer()),
  stopped: Nullable(
    Type.Object({
      reason: Type.Union([
        Type.Literal('acknowledged'),
        Type.Literal('cleared'),
        Type.Literal('below_level'),
      ]),
      by: Nullable(Type.String()),
      at: Nullable(Type.Integer()),
    }),
  ),
});
const NotificationsBody = Type.Object({
  alert: Type.Integer(),
  addresses: Type.Union([Type.Literal('full'), Type.Literal('masked')]),
  notifications: Type.Array(Notification),
  escalation: Nullable(Escalation),
});

export interface AlertNotificationDeps {
  db: DatabaseSync;
  /** The officials' escalation policy; undefined when notifications are not configured. */
  policy: EscalationPolicy | undefined;
  now(): number;
}

/**
 * What was sent about an alert and where its escalation stands: read from the notification outbox
 * and the escalation's row. Any signed-in role (and read tokens) may read it; the contacts'
 * addresses are personal data, so only admins get them in full, everyone else masked.
 */
export function registerAlertNotificationRoutes(
  app: FastifyInstance,
  ctx: AuthContext,
  store: AlertStore,
  deps: AlertNotificationDeps,
): void {
  app.get<{ Params: { id: number } }>(
    '/api/v1/alerts/:id/notifications',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Notifications sent about an alert (delivery records) and its escalation state',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: {
          200: NotificationsBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
      preValidation: guard(ctx, 'read'),
    },
    async (req) => {
      const alert = store.get(req.params.id);
      if (!alert) throw new ApiError('SG_ERR_NO_ALERT', `no alert ${req.params.id}`);
      const p = req.principal;
      const full = p?.kind === 'user' && p.role === 'admin';
      const id = String(alert.id);
      const notifications = notificationsOf(deps.db, id, full);
      const esc = deps.policy
        ? escalationOf(deps.db, deps.policy, id, alert.site, deps.now(), notifications)
        : null;
      const stopped =
        !esc || esc.running
          ? null
          : alert.acknowledged !== null
            ? { reason: 'acknowledged' as const, by: alert.ackBy, at: alert.acknowledged }
            : alert.cleared !== null
              ? { reason: 'cleared' as const, by: null, at: alert.cleared }
              : { reason: 'below_level' as const, by: null, at: null };
      return {
        alert: alert.id,
        addresses: full ? ('full' as const) : ('masked' as const),
        notifications,
        escalation: esc ? { ...esc, stopped } : null,
      };
    },
  );
}
