import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ciPackages, missingPackages } from '../check-test-tools.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'sg-check-tools-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * PATH as it is, except that `command` is gone: each PATH directory that holds it is replaced by a
 * directory of symlinks to everything else in it. So every other tool is still found, as on a
 * machine where only that one package is missing.
 */
function pathWithout(command: string): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs
    .map((dir, i) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return dir;
      }
      if (!names.includes(command)) return dir;
      const copy = mkdtempSync(join(tmp, `path-${i}-`));
      for (const n of names) if (n !== command) symlinkSync(join(dir, n), join(copy, n));
      return copy;
    })
    .join(delimiter);
}

describe('npm test checks the Debian tools first (acceptance 5)', () => {
  it('reads the package list from .ci/run, comments and line breaks allowed', () => {
    expect(
      ciPackages('set -e\npackages=(socat # ptys\n  mosquitto\n  # a comment line\n  mbpoll)\nmissing=()\n'),
    ).toEqual(['socat', 'mosquitto', 'mbpoll']);
    const listed = ciPackages(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
    expect(listed).toEqual(expect.arrayContaining(['socat', 'mosquitto', 'mosquitto-clients', 'influxdb']));
  });

  it('finds socat missing when PATH lacks it, and nothing else on this machine', () => {
    const listed = ciPackages(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
    expect(missingPackages(listed)).toEqual([]);
    expect(missingPackages(listed, { ...process.env, PATH: pathWithout('socat') })).toEqual(['socat']);
  });

  it('`npm test` on a machine without socat stops at once with one line and the apt-get command', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithout('socat') };
    // CI=true as root would install the package instead of stopping: not on this machine.
    delete env.CI;
    delete env.npm_lifecycle_event;
    const r = spawnSync('npm', ['test'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    const root = process.getuid?.() === 0;
    const sudo = root ? '' : 'sudo ';
    expect(r.stderr.trim().split('\n')).toEqual([
      `npm test: the tests need Debian packages that are missing: socat. Install them with: ${sudo}apt-get update && ${sudo}apt-get install -y socat`,
    ]);
    // Stopped before the type check: npm never started the next script.
    expect(r.stdout).not.toContain('> slopeguard@0.1.0 typecheck');
  });
});
