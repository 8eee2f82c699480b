import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePayload, gatewayFilter } from '@slopeguard/core';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type DemoStack, startDemoStack } from '../demo/stack.ts';

/**
 * The demo's sites are real gateway agents (issue 15, acceptance 4): each publishes through its
 * durable queue under the data directory, so the telemetry `seq` a subscriber sees carries on across
 * a restart of the demo instead of starting again at 0.
 */
describe('demo gateways', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-demo-gw-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = () =>
    startDemoStack({
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      dataDir: dir,
      sites: 2,
      intervalMs: 0,
      logger: pino({ level: 'silent' }),
    });

  /** Telemetry as a subscriber on the broker sees it: site and seq of every message. */
  const watch = async (stack: DemoStack) => {
    const seen: { site: string; seq: number }[] = [];
    const client = await mqtt.connectAsync(stack.mqttUrl, { ...stack.observer, clientId: 'observer' });
    client.on('message', (topic, payload) => {
      const d = decodePayload('telemetry', payload);
      if (d.ok) seen.push({ site: topic.split('/')[2] ?? '', seq: d.value.seq });
    });
    await client.subscribeAsync(gatewayFilter('telemetry'), { qos: 1 });
    return { seen, close: () => client.endAsync() };
  };

  it('keeps each gateway queue and config under the data directory, and seq continues after a restart', async () => {
    const first = await start();
    const w1 = await watch(first);
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push(await first.gateways[0]?.publishOnce());
    await first.gateways[1]?.publishOnce();
    const gw = first.gateways[0];
    if (!gw) throw new Error('no gateway');
    expect(existsSync(join(gw.dir, 'queue.db'))).toBe(true);
    expect(existsSync(join(gw.dir, 'gateway.yaml'))).toBe(true);
    expect(gw.agent.status().queue).toMatchObject({ durable: true });
    const seqA = sent.map((t) => t?.seq ?? -1);
    expect(seqA[1]).toBe((seqA[0] ?? 0) + 1);
    expect(seqA[2]).toBe((seqA[0] ?? 0) + 2);
    // The subscriber saw exactly what the gateway sent (and acknowledged).
    const until = Date.now() + 10_000;
    while (w1.seen.filter((s) => s.site === 'demo-a').length < 3 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(w1.seen.filter((s) => s.site === 'demo-a').map((s) => s.seq)).toEqual(seqA);
    await w1.close();
    await first.close();

    const second = await start();
    try {
      const w2 = await watch(second);
      const next = await second.gateways[0]?.publishOnce();
      expect(next?.seq).toBe((seqA[2] ?? 0) + 1);
      const deadline = Date.now() + 10_000;
      while (!w2.seen.some((s) => s.site === 'demo-a') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(w2.seen.find((s) => s.site === 'demo-a')?.seq).toBe((seqA[2] ?? 0) + 1);
      await w2.close();
    } finally {
      await second.close();
    }
  }, 60_000);
});
