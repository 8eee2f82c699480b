import type { CapRecord } from './cap-log.ts';
import { escapeXml } from './xml.ts';

/**
 * The Atom feed (RFC 4287) of CAP messages, as public alerting aggregators read them: one entry per
 * message, newest first, each linking to the CAP document (type application/cap+xml). An entry's id
 * is the message's own URL, stable and unique (RFC 4287 4.2.6 allows any IRI).
 */
export interface FeedInput {
  /** e.g. "https://warn.seocho.go.kr"; no trailing slash. */
  baseUrl: string;
  /** The feed's own path, e.g. "/cap/feed.xml" or "/cap/areas/umyeonsan/feed.xml". */
  selfPath: string;
  title: string;
  /** Who publishes: the operating authority. */
  author: string;
  records: readonly CapRecord[];
  /** When the feed was built; `updated` is the newest entry's time, or this for an empty feed. */
  now: number;
}

export function capAlertPath(identifier: string): string {
  return `/cap/alerts/${encodeURIComponent(identifier)}.xml`;
}

export function buildAtomFeed(f: FeedInput): string {
  const newest = f.records.reduce((m, r) => Math.max(m, r.sentAt), 0);
  const updated = rfc3339(newest > 0 ? newest : f.now);
  const self = `${f.baseUrl}${f.selfPath}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${escapeXml(self)}</id>`,
    `  <title>${escapeXml(f.title)}</title>`,
    `  <updated>${updated}</updated>`,
    `  <author><name>${escapeXml(f.author)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${escapeXml(self)}"/>`,
  ];
  for (const r of [...f.records].sort((a, b) => b.seq - a.seq)) {
    const url = `${f.baseUrl}${capAlertPath(r.identifier)}`;
    lines.push(
      '  <entry>',
      `    <id>${escapeXml(url)}</id>`,
      `    <title>${escapeXml(r.headline)}</title>`,
      `    <updated>${rfc3339(r.sentAt)}</updated>`,
      `    <published>${r.sent}</published>`,
      `    <summary>${escapeXml(`${r.msgType}${r.exercise ? ' (Exercise)' : ''}: ${r.headline}`)}</summary>`,
      `    <link rel="alternate" type="application/cap+xml" href="${escapeXml(url)}"/>`,
      '  </entry>',
    );
  }
  lines.push('</feed>', '');
  return lines.join('\n');
}

/** RFC 3339 in UTC with whole seconds. */
function rfc3339(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
