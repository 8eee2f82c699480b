import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookChannel } from '../../src/notify/channels/webhook.ts';
import { Outbox } from '../../src/notify/outbox.ts';
import type { WarningNotice } from '../../src/warn/fanout.ts';
import { enqueueGateway, GATEWAY_SCHEMA, type GatewayRequest } from '../../src/warn/gateway.ts';
import { KIND_LEVEL, renderWarning } from '../../src/warn/messages.ts';
import { FakeClock, MemoryAudit, tempDir, webhookReceiver } from '../notify/helpers.ts';
import { JANGSAN, UMYEONSAN } from './fixtures.ts';
import { openWarnDb } from './helpers.ts';

const SECRET = 'gateway-shared-secret-for-tests';

function notice(
  area: typeof UMYEONSAN,
  kind: 'caution' | 'serious' | 'all_clear',
  round: string,
): WarningNotice {
  return {
    area: area.id,
    alertId: `alert-${area.id}`,
    level: KIND_LEVEL[kind],
    kind,
    round,
    exercise: false,
    rendered: renderWarning({ area, kind, exercise: false, issuedAt: Date.UTC(2026, 6, 15, 18, 40) }),
    pageUrl: `https://warn.example.kr/p/${area.id}`,
  };
}

describe('SMS and messenger gateway request over the signed webhook', () => {
  const tmp = tempDir('gateway');
  const clock = new FakeClock();
  let db: DatabaseSync;
  let outbox: Outbox;
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeAll(async () => {
    rx = await webhookReceiver({ secret: SECRET, now: () => clock.now() });
    db = openWarnDb(join(tmp.dir, 'ops.db'));
    outbox = new Outbox({
      db,
      clock,
      audit: new MemoryAudit(),
      channels: [webhookChannel({ id: 'sms-gateway', url: rx.url, secret: SECRET, clock })],
    });
    outbox.start();
  });
  afterAll(async () => {
    await outbox.stop();
    await rx.close();
    db.close();
    tmp.cleanup();
  });

  it('sends one verified request per area and level change, in order, with every form', async () => {
    const steps = [
      notice(UMYEONSAN, 'caution', 'cap-1'),
      notice(UMYEONSAN, 'serious', 'cap-2'),
      notice(JANGSAN, 'serious', 'cap-1'),
      notice(UMYEONSAN, 'all_clear', 'cap-3'),
    ];
    for (const n of steps) {
      const area = n.area === 'umyeonsan' ? UMYEONSAN : JANGSAN;
      expect(enqueueGateway(outbox, 'sms-gateway', n, area).created).toBe(true);
      // A restart that runs the trigger again queues nothing new.
      expect(enqueueGateway(outbox, 'sms-gateway', n, area).created).toBe(false);
      await outbox.whenIdle();
    }
    expect(rx.refused).toEqual([]);
    expect(rx.duplicates).toBe(0);
    expect(rx.requests).toHaveLength(4);
    rx.requests.forEach((hook, i) => {
      const n = steps[i] as WarningNotice;
      const body = hook.json as { to: string; level: number; text: string; data: GatewayRequest };
      expect(body.to).toBe(''); // the provider holds the phone numbers
      expect(body.level).toBe(n.level);
      const d = body.data;
      expect(d.schema).toBe(GATEWAY_SCHEMA);
      expect(d.area.id).toBe(n.area);
      expect(d.kind).toBe(n.kind);
      expect(d.forms).toEqual(n.rendered);
      expect(d.page).toBe(n.pageUrl);
      const evacuate = n.kind === 'serious';
      expect(d.preferredForm).toBe(evacuate ? 'short' : 'long');
      expect(d.cellBroadcast).toBe(evacuate ? '긴급' : '안전안내');
      expect(body.text).toBe(n.rendered.ko[d.preferredForm]);
    });
    const first = ((rx.requests[0] as { json: unknown }).json as { data: GatewayRequest }).data;
    expect(first.area.polygon?.split(' ')).toHaveLength(5);
    const jangsan = ((rx.requests[2] as { json: unknown }).json as { data: GatewayRequest }).data;
    expect(jangsan.area.circle).toBe('35.1697,129.1705 0.8');
  });
});
