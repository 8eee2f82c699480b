import { createServer, type Server } from 'node:http';
import type { WebhookBody } from '@slopeguard/control-center/notify/channels/webhook.ts';
import { verifyWebhook } from '@slopeguard/control-center/notify/webhook-signature.ts';

/**
 * The demo's stand-in for an SMS or messenger gateway: an HTTP server that checks each webhook's
 * HMAC signature and timestamp, de-duplicates on the delivery id (as a real gateway must), and
 * prints what it got. It shows the escalation at work without a real phone.
 */
export interface DemoReceiver {
  readonly url: string;
  readonly secret: string;
  /** Deliveries accepted, first copy of each delivery id only. */
  readonly received: readonly WebhookBody[];
  close(): Promise<void>;
}

const MAX_BODY = 256 * 1024;

export async function startDemoReceiver(
  host: string,
  secret: string,
  onDelivery: (d: WebhookBody) => void,
): Promise<DemoReceiver> {
  const received: WebhookBody[] = [];
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const verdict = verifyWebhook(req.headers, body, secret, Date.now());
      if (!verdict.ok) {
        res.writeHead(401).end();
        return;
      }
      let parsed: WebhookBody;
      try {
        parsed = JSON.parse(body.toString('utf8')) as WebhookBody;
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (!seen.has(parsed.delivery)) {
        seen.add(parsed.delivery);
        received.push(parsed);
        onDelivery(parsed);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${h}:${port}/hook`,
    secret,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
