import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { COMMAND_NAMES, type CommandName, type CommandService } from '../commands/command-service.ts';
import { type AuthContext, actorOf, auditRequest, guard } from '../http/auth.ts';
import { ApiError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';
import type { LiveView } from '../live-view.ts';
import { gatewayOffline } from '../site-state.ts';

const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const GatewayParams = Type.Object({ site: Id, gateway: Id });
const CommandBody = Type.Object(
  {
    name: Type.Union(COMMAND_NAMES.map((n) => Type.Literal(n))),
    args: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$' }),
        // Number and boolean first: Fastify's Ajv coerces types, and would turn 2000 into "2000" if string came first.
        Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 256 })]),
        {
          maxProperties: 16,
        },
      ),
    ),
  },
  { additionalProperties: false },
);
const CommandSchema = Type.Object({
  id: Type.String(),
  site: Type.String(),
  gateway: Type.String(),
  name: Type.String(),
  args: Type.Record(Type.String(), Type.Unknown()),
  actor: Type.String(),
  sent: Type.Integer(),
  status: Type.Union([
    Type.Literal('sent'),
    Type.Literal('acked'),
    Type.Literal('failed'),
    Type.Literal('timeout'),
  ]),
  answered: Type.Union([Type.Integer(), Type.Null()]),
  result: Type.Unknown(),
  error: Type.Union([Type.String(), Type.Null()]),
});
const GatewaySchema = Type.Object({
  site: Type.String(),
  id: Type.String(),
  online: Type.Boolean(),
  state: Type.String(),
  lastSeen: Type.Union([Type.Integer(), Type.Null()]),
  seqGaps: Type.Integer(),
  clockFault: Type.Boolean(),
  queueDepth: Type.Union([Type.Number(), Type.Null()]),
  oldestQueuedTs: Type.Union([Type.Number(), Type.Null()]),
  supplyV: Type.Union([Type.Number(), Type.Null()]),
  cpuTempC: Type.Union([Type.Number(), Type.Null()]),
});
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** Gateways with their health, and the commands operators send them (acked or timed out). */
export function registerGatewayRoutes(
  app: FastifyInstance,
  ctx: AuthContext,
  view: LiveView,
  commands: () => CommandService,
  now: () => number,
  silenceMs: number,
): void {
  app.get(
    '/api/v1/gateways',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Every gateway with its health',
        response: { 200: Type.Object({ gateways: Type.Array(GatewaySchema) }), ...errors },
      },
      preValidation: guard(ctx, 'read'),
    },
    async () => {
      const t = now();
      return {
        gateways: view.list().flatMap((s) =>
          s.gateways.map((g) => {
            const h = g.health as
              | { queue?: { depth?: number; oldestTs?: number | null }; supplyV?: number; cpuTempC?: number }
              | undefined;
            return {
              site: s.id,
              id: g.id,
              online: !gatewayOffline(g, t, silenceMs),
              state: g.state,
              lastSeen: g.lastSeen ?? null,
              seqGaps: g.seqGaps,
              clockFault: g.clockFault,
              queueDepth: h?.queue?.depth ?? null,
              oldestQueuedTs: h?.queue?.oldestTs ?? null,
              supplyV: h?.supplyV ?? null,
              cpuTempC: h?.cpuTempC ?? null,
            };
          }),
        ),
      };
    },
  );

  app.get<{ Params: { site: string; gateway: string } }>(
    '/api/v1/gateways/:site/:gateway/commands',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Recent commands to a gateway',
        params: GatewayParams,
        response: { 200: Type.Object({ commands: Type.Array(CommandSchema) }), ...errors },
      },
      preValidation: guard(ctx, 'read'),
    },
    async (req) => ({ commands: commands().list(req.params.site, req.params.gateway) }),
  );

  app.post<{
    Params: { site: string; gateway: string };
    Body: { name: CommandName; args?: Record<string, string | number | boolean> };
  }>(
    '/api/v1/gateways/:site/:gateway/commands',
    {
      schema: {
        tags: ['gateways'],
        summary: 'Send a command; the answer (ack or timeout) arrives on socket.io (command) and in the list',
        params: GatewayParams,
        body: CommandBody,
        response: { 202: CommandSchema, ...errors },
      },
      preValidation: guard(ctx, 'operator', 'gateway.command'),
    },
    async (req, reply) => {
      const { site, gateway } = req.params;
      if (!view.summary(site)?.gateways.some((g) => g.id === gateway))
        throw new ApiError('SG_ERR_NO_GATEWAY', `no gateway ${site}/${gateway}`);
      const c = await commands().send(
        site,
        gateway,
        req.body.name,
        req.body.args ?? {},
        actorOf(req.principal),
      );
      auditRequest(ctx, req, {
        action: 'gateway.command',
        target: `${site}/${gateway}`,
        outcome: 'ok',
        detail: { id: c.id, name: c.name, args: c.args },
      });
      return reply.code(202).send(c);
    },
  );
}
