import { createTransport } from 'nodemailer';
import type { Channel, ChannelMessage, Recipient, SendResult } from '../types.ts';

/**
 * The e-mail channel: one plain-text message per delivery over SMTP (nodemailer, pooled
 * connections). The Message-ID is made from the delivery id, so a message resent after a crash (the
 * window between the server's 250 and the outbox recording it) carries the same Message-ID and the
 * X-Slopeguard-Delivery header, on which mail stores and filters can de-duplicate; SMTP itself has
 * no idempotency.
 *
 * A message with `listUnsubscribe` (residents' warnings) also carries the one-click unsubscribe
 * headers of RFC 8058.
 *
 * An SMTP 5xx reply, or a recipient the server refused, is permanent [RFC 5321 4.2.1]; a 4xx reply
 * and connection problems are retried by the outbox.
 */
export interface EmailOptions {
  id: string;
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** Refuse to send unless STARTTLS succeeds (recommended whenever a password is sent). */
  requireTls: boolean;
  user?: string;
  password?: string;
  /** The From address, e.g. "Slopeguard <alerts@example.go.kr>". */
  from: string;
  timeoutMs?: number;
}

export function emailChannel(opts: EmailOptions): Channel {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const transport = createTransport({
    host: opts.host,
    port: opts.port,
    secure: opts.secure,
    requireTLS: opts.requireTls,
    auth: opts.user ? { user: opts.user, pass: opts.password ?? '' } : undefined,
    pool: true,
    maxConnections: 3,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // nodemailer's own logger would print envelopes (recipients' addresses): keep it off.
    logger: false,
    debug: false,
  });
  const domain = /@([^>\s]+)>?\s*$/.exec(opts.from)?.[1] ?? 'slopeguard.invalid';
  return {
    id: opts.id,
    kind: 'email',
    secrets: () => [opts.password ?? '', opts.user ?? ''].filter((s) => s.length > 0),
    async send(message: ChannelMessage, recipient: Recipient): Promise<SendResult> {
      try {
        const info = await transport.sendMail({
          from: opts.from,
          to: recipient.address,
          subject: message.subject,
          text: message.text,
          messageId: `<${message.deliveryId}@${domain}>`,
          headers: {
            'X-Slopeguard-Delivery': message.deliveryId,
            // RFC 8058: a mail client may offer "unsubscribe", and POSTs
            // "List-Unsubscribe=One-Click" to the URL. (Mail providers act on it only when a
            // DKIM signature covers both headers: the sending MTA's job.)
            ...(message.listUnsubscribe
              ? {
                  'List-Unsubscribe': `<${message.listUnsubscribe}>`,
                  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
                }
              : {}),
          },
        });
        if (info.rejected.length > 0) return { ok: false, permanent: true, error: 'recipient refused' };
        return { ok: true, info: `SMTP ${String(info.response ?? '').slice(0, 3)}` };
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
        if (typeof e.responseCode === 'number') {
          return {
            ok: false,
            permanent: e.responseCode >= 500,
            // The server's reply may quote the address: the outbox redacts it before storing.
            error: `SMTP ${e.responseCode} ${e.response ?? ''}`.trim(),
          };
        }
        return { ok: false, permanent: false, error: `SMTP ${e.code ?? 'error'}: ${e.message ?? ''}` };
      }
    },
    async close() {
      transport.close();
    },
  };
}
