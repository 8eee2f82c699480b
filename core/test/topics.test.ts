import { describe, expect, it } from 'vitest';
import { gatewayFilter, gatewayTopic, parseTopic, siteTopic, TopicError } from '../src/topics.ts';

describe('topics', () => {
  it('builds the contract topics', () => {
    expect(gatewayTopic('demo-a', 'gw-1', 'telemetry')).toBe('slopeguard/v1/demo-a/gw-1/telemetry');
    expect(gatewayTopic('demo-a', 'gw-1', 'cmd/ack')).toBe('slopeguard/v1/demo-a/gw-1/cmd/ack');
    expect(siteTopic('demo-a', 'level')).toBe('slopeguard/v1/demo-a/level');
    expect(gatewayFilter('telemetry')).toBe('slopeguard/v1/+/+/telemetry');
  });

  it('refuses wildcards and bad ids when building a topic', () => {
    expect(() => gatewayTopic('+', 'gw', 'status')).toThrow(TopicError);
    expect(() => gatewayTopic('a/b', 'gw', 'status')).toThrow(TopicError);
    expect(() => siteTopic('#', 'level')).toThrow(TopicError);
    expect(() => gatewayTopic('Site', 'gw', 'status')).toThrow(/invalid site id/);
  });

  it('parses what it builds and nothing else', () => {
    expect(parseTopic('slopeguard/v1/demo-a/gw-1/cmd/ack')).toEqual({
      scope: 'gateway',
      site: 'demo-a',
      gateway: 'gw-1',
      channel: 'cmd/ack',
    });
    expect(parseTopic('slopeguard/v1/demo-a/level')).toEqual({
      scope: 'site',
      site: 'demo-a',
      channel: 'level',
    });
    for (const bad of [
      'slopeguard/v1/demo-a/gw-1/nope',
      'slopeguard/v1/demo-a/gw-1/telemetry/x',
      'slopeguard/v2/demo-a/gw-1/telemetry',
      'slopeguard/v1/Demo/gw-1/telemetry',
      'slopeguard/v1/demo-a',
      'slopeguard/v1/demo-a/gw-1/cmd/nack',
    ]) {
      expect(parseTopic(bad), bad).toBeUndefined();
    }
  });
});
