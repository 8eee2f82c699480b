import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { scaledClock } from '@slopeguard/edge/clock.ts';
import { parseConfig } from '@slopeguard/edge/config/load.ts';
import mqtt from 'mqtt';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { CommandRecord } from '../src/commands/command-service.ts';
import type { ControlCenter } from '../src/index.ts';
import { LIVE_EVENT, type LiveBatch } from '../src/realtime-wire.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10, acceptance 6: a command sent through the API reaches a real edge agent (the project's
 * gateway, in-process, synthetic sensors) over Debian's mosquitto, and its ack comes back to the
 * API and to socket.io. A gateway that never answers times out.
 */
describe('gateway commands through the API to a real edge agent', () => {
  const bed = centerBed('cmd', { readings: false });
  let center: ControlCenter;
  let agent: EdgeAgent;
  let operator: SignedIn;
  let socket: Socket;
  const pushed: CommandRecord[] = [];

  beforeAll(async () => {
    center = await bed.start({
      // Long enough for a loaded machine; the timeout case waits for it once.
      commandTimeoutMs: 8_000,
    });
    const parsed = parseConfig(
      stringify({
        site: 'slope-a',
        gateway: 'gw-1',
        dataDir: join(bed.dir, 'edge'),
        uplink: { url: bed.broker.url, reconnectMinMs: 200, reconnectMaxMs: 1000, batchIntervalMs: 100 },
        drivers: [
          {
            driver: 'synthetic',
            id: 'syn',
            sensors: [
              {
                id: 'tilt-1',
                kind: 'tilt',
                intervalMs: 1000,
                values: { x: { base: 0.1 }, y: { base: -0.2 } },
              },
            ],
          },
        ],
      }),
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const now = Date.now();
    agent = new EdgeAgent({
      config: parsed.config,
      clock: scaledClock(1, now, now),
      logger: pino({ level: 'silent' }),
      version: 'test',
    });
    await agent.start();
    operator = await signIn(center, 'operator');
    socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: operator.cookie },
    });
    // Commands reach browsers inside the one-a-second batch (realtime-wire.ts).
    socket.on(LIVE_EVENT, (b: LiveBatch) => {
      for (const u of b.sites) pushed.push(...(u.commands ?? []));
    });
    await new Promise((resolve, reject) => {
      socket.on('snapshot', resolve);
      socket.on('connect_error', reject);
    });
    // The gateway is known once its first message (status or telemetry) has arrived.
    await vi.waitFor(() => expect(center.view.summary('slope-a')?.gateways[0]?.id).toBe('gw-1'), {
      timeout: 20_000,
    });
  });
  afterAll(async () => {
    socket?.close();
    await agent?.stop();
    await bed.close();
  });

  it('set-sampling-interval reaches the gateway and its ack comes back to the API and socket.io', async () => {
    const res = await operator.fetch('api/v1/gateways/slope-a/gw-1/commands', {
      method: 'POST',
      body: { name: 'set-sampling-interval', args: { ms: 2000 } },
    });
    expect(res.status).toBe(202);
    const sent = (await res.json()) as CommandRecord;
    expect(sent).toMatchObject({ name: 'set-sampling-interval', status: 'sent', actor: operator.username });
    await vi.waitFor(() => expect(pushed.find((c) => c.id === sent.id)).toMatchObject({ status: 'acked' }), {
      timeout: 20_000,
    });
    const list = (await (await operator.fetch('api/v1/gateways/slope-a/gw-1/commands')).json()) as {
      commands: CommandRecord[];
    };
    const acked = list.commands.find((c) => c.id === sent.id);
    expect(acked).toMatchObject({ status: 'acked', error: null });
    expect(acked?.result).toEqual({ drivers: ['syn'], ms: 2000 });
    const audit = [...center.audit.iterate()].filter((r) => r.action.startsWith('gateway.command'));
    expect(audit.map((r) => [r.action, r.outcome])).toEqual([
      ['gateway.command', 'ok'],
      ['gateway.command_answer', 'ok'],
    ]);
  });

  it('an unknown command name is refused by the API; a silent gateway times out', async () => {
    const bad = await operator.fetch('api/v1/gateways/slope-a/gw-1/commands', {
      method: 'POST',
      body: { name: 'format-disk' },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('SG_ERR_BAD_REQUEST');
    // A gateway known from its status but not running.
    const ghost = await mqtt.connectAsync(bed.broker.url, { clientId: 'ghost' });
    await ghost.publishAsync(
      gatewayTopic('slope-a', 'gw-ghost', 'status'),
      JSON.stringify({ state: 'online', ts: Date.now() }),
      { qos: 1 },
    );
    await ghost.endAsync();
    await vi.waitFor(() =>
      expect(center.view.summary('slope-a')?.gateways.map((g) => g.id)).toContain('gw-ghost'),
    );
    const res = await operator.fetch('api/v1/gateways/slope-a/gw-ghost/commands', {
      method: 'POST',
      body: { name: 'test-siren' },
    });
    const sent = (await res.json()) as CommandRecord;
    await vi.waitFor(() => expect(pushed.find((c) => c.id === sent.id)?.status).toBe('timeout'), {
      timeout: 20_000,
    });
    const gateways = (await (await operator.fetch('api/v1/gateways')).json()) as {
      gateways: Array<{ id: string; online: boolean }>;
    };
    expect(gateways.gateways.find((g) => g.id === 'gw-1')).toMatchObject({ online: true });
  });
});
