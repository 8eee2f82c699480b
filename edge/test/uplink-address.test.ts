import { brokerAddress, redact } from '@slopeguard/edge/uplink.ts';
import { describe, expect, it } from 'vitest';

describe('uplink URL to connect options', () => {
  it('takes protocol, host and port, with the MQTT default ports', () => {
    expect(brokerAddress('mqtt://broker.example.org')).toEqual({
      protocol: 'mqtt',
      hostname: 'broker.example.org',
      port: 1883,
    });
    expect(brokerAddress('mqtts://broker.example.org')).toMatchObject({ protocol: 'mqtts', port: 8883 });
    expect(brokerAddress('mqtts://10.0.0.5:18883')).toMatchObject({ hostname: '10.0.0.5', port: 18883 });
  });

  it('unbrackets an IPv6 literal for net.connect', () => {
    expect(brokerAddress('mqtt://[::1]:1884')).toEqual({ protocol: 'mqtt', hostname: '::1', port: 1884 });
  });

  it('redacts credentials written into the URL when logging it', () => {
    expect(redact('mqtt://gw:secret@host:1883')).toBe('mqtt://host:1883');
    expect(redact('not a url')).toBe('(unparseable url)');
  });
});
