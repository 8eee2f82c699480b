import type { Outbox } from '../notify/outbox.ts';
import type { Channel, ChannelMessage, NotifyMessage, Recipient, SendResult } from '../notify/types.ts';
import type { EmailSubscriptions } from './email-subscriptions.ts';
import { enqueueForSubscribers, type WarningNotice } from './fanout.ts';
import type { Lang } from './messages.ts';

/**
 * The residents' e-mail channel: a plugin on the notify outbox that wraps the notify e-mail channel
 * (SMTP through nodemailer). The outbox's recipient address is the subscription id; the address is
 * read when the mail is sent, so the outbox never stores it and an unsubscribed resident gets
 * nothing more. It adds what only the subscription knows:
 * - a confirmation mail (`data.kind: "confirm"`) gets a fresh one-time opt-in link;
 * - a warning (`data.kind: "warning"`) goes only to an active subscription and ends with its
 *   unsubscribe link, which is also its one-click `List-Unsubscribe` header (RFC 8058).
 *
 * The links point at the control center's pages `/warn/email/confirm?token=` and
 * `/warn/email/unsubscribe?token=` (warn/routes.ts). Those pages answer GET with a form and act
 * only on a POST: mail scanners open every link in a message.
 */
export interface SubscriberEmailOptions {
  id: string;
  /** The notify e-mail channel that talks SMTP. */
  mail: Channel;
  store: EmailSubscriptions;
  /**
   * The control center's public URL, e.g. "https://warn.seocho.go.kr"; no trailing slash. A function
   * when it is known only once the server listens (port 0 in tests, the demo).
   */
  baseUrl: string | (() => string);
}

const FOOTER: Record<Lang, (link: string) => string> = {
  ko: (link) => `--\n이 메일은 급경사지 경보를 신청하셔서 보내 드렸습니다.\n수신 거부: ${link}`,
  en: (link) => `--\nYou receive this because you subscribed to slope warnings.\nUnsubscribe: ${link}`,
};

const CONFIRM: Record<Lang, { subject: string; text: (link: string, hours: number) => string }> = {
  ko: {
    subject: '급경사지 경보 메일 신청 확인',
    text: (link, hours) =>
      `급경사지 경보 메일을 받으시려면 ${hours}시간 안에 아래 링크를 열어 신청을 확인해 주세요.\n${link}\n\n신청하지 않으셨다면 이 메일을 무시하세요. 주소는 ${hours}시간 뒤 지워집니다.`,
  },
  en: {
    subject: 'Confirm your slope warning e-mails',
    text: (link, hours) =>
      `To receive slope warnings by e-mail, open this link within ${hours} hours to confirm:\n${link}\n\nIf you did not ask for this, ignore this message; the address is deleted after ${hours} hours.`,
  },
};

export function subscriberEmailChannel(opts: SubscriberEmailOptions): Channel {
  const base = typeof opts.baseUrl === 'function' ? opts.baseUrl : () => opts.baseUrl as string;
  return {
    id: opts.id,
    kind: 'email-subscribers',
    secrets: () => opts.mail.secrets(),
    async send(message: ChannelMessage, recipient: Recipient): Promise<SendResult> {
      const sub = opts.store.get(recipient.address);
      if (!sub) return { ok: false, permanent: true, error: 'unsubscribed' };
      let text: string;
      let subject = message.subject;
      let listUnsubscribe: string | undefined;
      if (message.data?.kind === 'confirm') {
        if (sub.state !== 'pending') return { ok: true, info: 'already confirmed' };
        const token = opts.store.issueConfirmToken(sub.id);
        if (!token) return { ok: true, info: 'already confirmed' };
        const link = `${base()}/warn/email/confirm?token=${token}`;
        const hours = Math.max(1, Math.round(opts.store.confirmTtlMs / 3600_000));
        subject = CONFIRM[sub.lang].subject;
        text = CONFIRM[sub.lang].text(link, hours);
      } else {
        if (sub.state !== 'active') return { ok: false, permanent: true, error: 'not confirmed' };
        const link = `${base()}/warn/email/unsubscribe?token=${sub.unsubscribeToken}`;
        text = `${message.text}\n\n${FOOTER[sub.lang](link)}`;
        listUnsubscribe = link;
      }
      const r = await opts.mail.send(
        { ...message, subject, text, ...(listUnsubscribe ? { listUnsubscribe } : {}) },
        { id: recipient.id, address: sub.email },
      );
      // The SMTP server's reply may quote the address; the outbox only knows the subscription id.
      return r.ok ? r : { ...r, error: r.error.split(sub.email).join('<address>') };
    },
    close: () => opts.mail.close?.() ?? Promise.resolve(),
  };
}

/** Queues the opt-in mail of a request (`EmailSubscriptions.request` said to send one). */
export function enqueueConfirmation(outbox: Outbox, channel: string, subscriptionId: string, now: number) {
  return outbox.enqueue({
    alertId: `email-confirm:${subscriptionId}`,
    level: 0,
    channel,
    recipient: { id: `email:${subscriptionId}`, address: subscriptionId },
    round: `confirm-${now}`,
    message: { subject: 'confirm', text: 'confirm', data: { kind: 'confirm' } },
  });
}

export function emailMessage(n: WarningNotice, lang: Lang): NotifyMessage {
  const f = n.rendered[lang];
  return { subject: f.subject, text: f.full, data: { kind: 'warning', area: n.area } };
}

/** Queues the warning for every active e-mail subscriber of the area, each in their language. */
export function enqueueEmail(
  outbox: Outbox,
  store: EmailSubscriptions,
  channel: string,
  n: WarningNotice,
): number {
  const messages = { ko: emailMessage(n, 'ko'), en: emailMessage(n, 'en') };
  return enqueueForSubscribers(outbox, store.db, store.recipients(n.area), 'email', channel, n, messages);
}
