import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { signInTo } from '@slopeguard/control-center/sign-in-client.ts';
import { decodePayload, parseTopic } from '@slopeguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `slopeguard demo` as a user runs it: a child process started through the CLI entry point, watched
 * with Mosquitto's own clients (software nobody here wrote), stopped with SIGINT like Ctrl-C.
 */
const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

describe('slopeguard demo (CLI, child process)', () => {
  let dir: string;
  let child: ChildProcess;
  let out = '';
  let dashboard: URL;
  let mqttPort: string;
  let auth: { cookie: string } = { cookie: '' };
  let observerPassword: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-'));
    // process.execPath is the Node 24 that runs this test (the project's own, through npm).
    child = spawn(
      process.execPath,
      ['bin/slopeguard.mjs', 'demo', '--http-port', '0', '--mqtt-port', '0', '--data-dir', dir],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    // A bound on a hang, not a speed target (that is `npm run bench -- demo-start`): a loaded
    // 2-core machine takes 40 s here.
    const until = Date.now() + 120_000;
    while (!/Press Ctrl-C/.test(out)) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`demo did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    dashboard = new URL(/Dashboard\s+\S+\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '');
    mqttPort = /-p (\d+) -u/.exec(out)?.[1] ?? '';
    observerPassword = /-P (\S+) -i observer/.exec(out)?.[1] ?? '';
    const admin = /user admin, password (\S+) \(admin/.exec(out)?.[1] ?? '';
    auth = { cookie: (await signInTo(dashboard.href, 'admin', admin)).cookie };
  });

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves at least three sites, each with a reading less than 10 s old', async () => {
    // Each site publishes 24 h of history first (the demo says when it is loaded), then goes live.
    const loaded = Date.now() + 60_000;
    while (!/history loaded/.test(out)) {
      if (Date.now() > loaded || child.exitCode !== null) throw new Error(`history not loaded:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    let sites: Array<{ id: string; lastReadingTs: number | null }> = [];
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      sites = (
        (await (await fetch(new URL('/api/v1/sites', dashboard), { headers: auth })).json()) as {
          sites: typeof sites;
        }
      ).sites;
      if (sites.length >= 3 && sites.every((s) => s.lastReadingTs !== null)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(sites.length).toBeGreaterThanOrEqual(3);
    for (const s of sites) expect(Date.now() - (s.lastReadingTs ?? 0)).toBeLessThan(10_000);
  }, 240_000); // start, up to 60 s for the history, then two rounds of live readings

  it('publishes contract telemetry that mosquitto_sub can watch', async () => {
    const { stdout } = await run('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', mqttPort, '-u', 'observer', '-P', observerPassword, '-i', 'observer'],
      ...['-t', 'slopeguard/v1/+/+/telemetry', '-v', '-C', '3', '-W', '10'],
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const space = line.indexOf(' ');
      const topic = parseTopic(line.slice(0, space));
      expect(topic?.channel).toBe('telemetry');
      expect(decodePayload('telemetry', line.slice(space + 1)).ok).toBe(true);
    }
  });

  it('survives a non-JSON publish and counts it', async () => {
    const rejected = async () => {
      const text = await (await fetch(new URL('/metrics', dashboard))).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('slopeguard_broker_rejected_total{reason="not_json"}'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    // Provision a gateway with the real CLI, into the registry file the running broker reads.
    const registry = join(dir, 'registry.sqlite');
    const add = await run(
      process.execPath,
      ['bin/slopeguard.mjs', 'device', 'add', '--site', 'demo-a', '--gateway', 'gw-test', '--db', registry],
      { cwd: ROOT },
    );
    const secret = /secret\s+(\S+)/.exec(add.stdout)?.[1] ?? '';
    expect(secret).not.toBe('');
    const before = await rejected();
    await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', mqttPort, '-u', 'demo-a.gw-test', '-P', secret, '-i', 'demo-a.gw-test'],
      ...['-q', '1', '-t', 'slopeguard/v1/demo-a/gw-test/telemetry', '-m', 'not json at all'],
    ]);
    expect(await rejected()).toBe(before + 1);
    const res = await fetch(new URL('/api/v1/sites', dashboard), { headers: auth });
    expect(res.status).toBe(200);
    expect(child.exitCode).toBeNull();
  });

  it('stops cleanly on Ctrl-C (SIGINT)', async () => {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped cleanly');
  });
});
