import { parseTopic, systemTopic, TOPIC_ROOT } from '@slopeguard/core';
import type { Account } from './registry.ts';

/**
 * The ACL table of docs/broker.md#acl. Publishing is checked on concrete topics, subscribing on
 * filters: a filter is allowed when one of the role's patterns covers everything it can match.
 */

/** May `account` publish to the concrete `topic`? */
export function mayPublish(account: Account, topic: string): boolean {
  const parsed = parseTopic(topic);
  if (!parsed) return false;
  switch (account.role) {
    case 'gateway':
      return (
        parsed.scope === 'gateway' &&
        parsed.site === account.site &&
        parsed.gateway === account.gateway &&
        parsed.channel !== 'cmd'
      );
    case 'control-center':
      return (parsed.scope === 'gateway' && parsed.channel === 'cmd') || parsed.scope === 'site';
    default:
      return false;
  }
}

/** The subscription patterns a role may use (a requested filter must be covered by one of them). */
export function subscribePatterns(account: Account): string[] {
  // Every account may read the broker's clock (gateways check their own against it).
  const clock = systemTopic('clock');
  switch (account.role) {
    case 'gateway':
      return [
        `${TOPIC_ROOT}/${account.site}/${account.gateway}/cmd`,
        `${TOPIC_ROOT}/${account.site}/level`,
        // The residents' notice of its site, for a signboard the gateway drives.
        `${TOPIC_ROOT}/${account.site}/notice`,
        clock,
      ];
    case 'control-center':
      return [`${TOPIC_ROOT}/#`, '$SG/#'];
    case 'recorder':
      return [`${TOPIC_ROOT}/+/+/telemetry`, clock];
    case 'observer':
      return [`${TOPIC_ROOT}/#`, '$SG/rejected/#'];
  }
}

/**
 * Does `pattern` cover `filter`, i.e. is every topic matched by `filter` also matched by `pattern`?
 * Wildcards per [MQTT-4.7.1-2] (`#` last, whole level) and [MQTT-4.7.1-3] (`+` one whole level).
 */
export function covers(pattern: string, filter: string): boolean {
  const p = pattern.split('/');
  const f = filter.split('/');
  for (let i = 0; i < p.length; i++) {
    const pl = p[i];
    if (pl === '#') return true;
    const fl = f[i];
    if (fl === undefined) return false;
    if (fl === '#') return false; // the filter reaches deeper than a non-'#' pattern level
    if (pl === '+') continue;
    if (fl === '+' || fl !== pl) return false;
  }
  return f.length === p.length;
}

export function maySubscribe(account: Account, filter: string): boolean {
  return subscribePatterns(account).some((p) => covers(p, filter));
}

/**
 * Client ids are bound to the account [MQTT-3.1.3-2 makes the id the session key]: the id must be
 * the username itself or the username followed by `-` or `_` and a suffix (several instances of a
 * service), and must not be another account's username (no session takeover across accounts).
 */
export function clientIdAllowed(username: string, clientId: string, isOtherAccount: (id: string) => boolean) {
  if (clientId === username) return true;
  const sep = clientId.charAt(username.length);
  if (
    !clientId.startsWith(username) ||
    (sep !== '-' && sep !== '_') ||
    clientId.length === username.length + 1
  ) {
    return false;
  }
  return !isOtherAccount(clientId);
}
