import { execFileSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { siteTopic } from '@slopeguard/core';
import type { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { planReload } from '@slopeguard/edge/agent-reload.ts';
import { noticeSites } from '@slopeguard/edge/agent-support.ts';
import { loadConfigFile } from '@slopeguard/edge/config/load.ts';
import { type PtyPair, startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mosquitto, startMosquitto } from '../../control-center/test/mosquitto.ts';
import { startAgent, tempDir, waitFor, writeConfig } from './helpers.ts';
import { MOSQUITTO_PUB } from './mosquitto.ts';

/**
 * A signboard (전광판) output end to end: Debian's mosquitto holds the control center's retained
 * notice, published by Debian's mosquitto_pub (a client nobody here wrote); the board is the far end
 * of a socat pty pair, read byte for byte. The gateway runs in-process with its real uplink.
 */
const SITE = 'board-site';
const topic = siteTopic(SITE, 'notice');

const notice = (over: object) =>
  JSON.stringify({
    ts: 1_790_000_000_000,
    level: 3,
    kind: 'warning',
    exercise: true,
    ko: { short: '[훈련] 산사태 경계. 대피 준비.', long: '[훈련] 산사태 경계. 대피를 준비하세요.' },
    en: { short: '[Exercise] Landslide watch.', long: '[Exercise] Landslide watch. Get ready to leave.' },
    ...over,
  });

/** The exact frame of the first notice, as docs/gateway.md "Signboards" specifies it. */
const FRAME_1 =
  'SG1 board-site L3 warning EXERCISE 1790000000000\r\n' +
  'KO [훈련] 산사태 경계. 대피 준비.\r\n' +
  'EN [Exercise] Landslide watch.\r\n' +
  'END\r\n';

describe('signboard output', () => {
  const tmp = tempDir('signboard');
  let mosquitto: Mosquitto;
  let pair: PtyPair;
  let agent: EdgeAgent;
  let got: Buffer[] = [];
  let readers: Promise<void>[] = [];
  const text = () => Buffer.concat(got).toString('utf8');

  async function readFar(): Promise<void> {
    const far = await open(pair.b, 'r');
    const reader = (async () => {
      const buf = Buffer.alloc(256);
      for (;;) {
        const { bytesRead } = await far.read(buf, 0, 256).catch(() => ({ bytesRead: 0 }));
        if (bytesRead === 0) break;
        got.push(Buffer.from(buf.subarray(0, bytesRead)));
      }
      await far.close().catch(() => {});
    })();
    readers.push(reader);
  }

  function pub(message: string): void {
    execFileSync(MOSQUITTO_PUB, [
      ...['-h', '127.0.0.1', '-p', new URL(mosquitto.url).port, '-i', 'cc-notice', '-q', '1', '-r'],
      ...['-t', topic, '-m', message],
    ]);
  }

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    pair = await startPtyPair();
    await readFar();
  });
  afterAll(async () => {
    await agent?.stop();
    await pair?.stop();
    await Promise.all(readers);
    await mosquitto?.stop();
    tmp.cleanup();
  });

  it('shows the retained notice at connect, skips an unchanged one, refuses a bad one, shows a new one', async () => {
    pub(notice({}));
    agent = await startAgent(
      {
        site: SITE,
        gateway: 'gw-b',
        dataDir: join(tmp.dir, 'data'),
        uplink: { url: mosquitto.url, reconnectMinMs: 200, reconnectMaxMs: 1000 },
        drivers: [{ driver: 'synthetic', id: 'syn', sensors: [{ id: 'rain-1', kind: 'rain' }] }],
        outputs: [{ kind: 'signboard', id: 'board', port: pair.a, baudRate: 9600 }],
      },
      1,
    );
    await waitFor('retained notice on the board', () => text() === FRAME_1);

    // The same notice again (the control center republishes on its restart): not rewritten.
    pub(notice({}));
    // Hostile notices: not JSON, a text over the 90-character form, an unknown key...
    pub('{not json');
    pub(notice({ ko: { short: '가'.repeat(91), long: '' } }));
    pub(notice({ colour: 'red' }));
    // ...and one stamped a day ahead of the gateway's clock.
    pub(notice({ ts: Date.now() + 86_400_000, level: 1 }));
    // A new notice, with line breaks in its text that must not break the framing.
    pub(
      notice({ ts: 1_790_000_060_000, level: 4, exercise: false, en: { short: 'Leave\r\nnow.', long: 'x' } }),
    );
    const frame2 =
      'SG1 board-site L4 warning LIVE 1790000060000\r\n' +
      'KO [훈련] 산사태 경계. 대피 준비.\r\n' +
      'EN Leave  now.\r\n' +
      'END\r\n';
    await waitFor('new notice on the board', () => text().length >= (FRAME_1 + frame2).length);
    expect(text()).toBe(FRAME_1 + frame2);
    expect(agent.noticesRefused).toBe(4);
    expect(agent.connected).toBe(true);

    // The control center deletes the retained notice (a zero-length retained publish): the board gets
    // a clear frame, which is not a refusal.
    execFileSync(MOSQUITTO_PUB, [
      ...['-h', '127.0.0.1', '-p', new URL(mosquitto.url).port, '-i', 'cc-notice', '-q', '1', '-r'],
      ...['-t', topic, '-n'],
    ]);
    await waitFor('clear frame on the board', () => text().endsWith('END\r\n') && text().includes('CLEAR'));
    expect(text().slice((FRAME_1 + frame2).length)).toMatch(/^SG1 board-site CLEAR \d+\r\nEND\r\n$/);
    expect(agent.noticesRefused).toBe(4);
  });

  it('a board that was unplugged gets the current notice once it is back', async () => {
    await pair.unplug();
    await Promise.all(readers);
    got = [];
    readers = [];
    pub(notice({ ts: 1_790_000_120_000, level: 0, kind: 'all_clear', exercise: false }));
    await pair.replug();
    await readFar();
    // The failed write is retried (every 5 s) until the port takes it.
    await waitFor('notice after replug', () => text().includes('END\r\n'), 20_000);
    expect(text()).toBe(
      'SG1 board-site L0 all_clear LIVE 1790000120000\r\n' +
        'KO [훈련] 산사태 경계. 대피 준비.\r\n' +
        'EN [Exercise] Landslide watch.\r\n' +
        'END\r\n',
    );
  }, 30_000);

  it('a reload that changes the signboards renews the subscription; a siren change does not', () => {
    const base = {
      site: SITE,
      gateway: 'gw-b',
      dataDir: join(tmp.dir, 'reload'),
      uplink: { url: 'mqtt://127.0.0.1:1883' },
      drivers: [{ driver: 'synthetic', id: 'syn', sensors: [{ id: 'rain-1', kind: 'rain' }] }],
    };
    const siren = { kind: 'simulated', id: 'siren' };
    const load = (name: string, outputs: object[]) => {
      const r = loadConfigFile(writeConfig(tmp.dir, name, { ...base, outputs }));
      if (!r.ok) throw new Error(r.errors.join('; '));
      return r.config;
    };
    const prev = load('prev.yaml', [siren]);
    expect(noticeSites(prev)).toEqual([]);
    const board = { kind: 'signboard', id: 'board', port: '/dev/ttyUSB1', sites: ['other-site', SITE] };
    const withBoard = join(tmp.dir, 'next.yaml');
    load('next.yaml', [siren, board]);
    expect(planReload(withBoard, prev)).toMatchObject({ outputs: true, uplink: true });
    expect(noticeSites(planReload(withBoard, prev).next)).toEqual([SITE, 'other-site']);
    load('next.yaml', [{ ...siren, atLevel: 3 }]);
    expect(planReload(withBoard, prev)).toMatchObject({ outputs: true, uplink: false });
    // Without `sites` a board shows the gateway's own site.
    expect(noticeSites(load('own.yaml', [{ kind: 'signboard', id: 'b', port: '/dev/ttyUSB1' }]))).toEqual([
      SITE,
    ]);
  });
});
