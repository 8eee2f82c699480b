#!/usr/bin/env node
// Runs first in `npm test`: are the Debian tools the tests start present? Without them the suite
// would run for minutes and fail test by test (a missing socat, mosquitto or influxd shows up as
// timeouts far from the cause). So: one line naming the missing packages and the exact command that
// installs them, and stop. As root with CI=true (how .ci/run runs) it installs them itself instead.
//
// Plain JavaScript, so that it runs on whatever Node the machine has (.ci/run starts before npm ci).
// The package list is .ci/run's `packages=(...)`: one list, kept where CI installs from. Each package
// is probed the way the tests use it: a command spawned by name must be on PATH, a file the tests
// start by absolute path must exist there, a Python module must import in Debian's /usr/bin/python3.
// A package with no probe here is asked of dpkg.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const PYTHON = '/usr/bin/python3';

/** How each package's presence shows to the tests (see the comments in .ci/run for why each is needed). */
const PROBES = {
  socat: [{ command: 'socat' }],
  mosquitto: [{ file: '/usr/sbin/mosquitto' }],
  'mosquitto-clients': [{ file: '/usr/bin/mosquitto_pub' }, { file: '/usr/bin/mosquitto_sub' }],
  influxdb: [{ file: '/usr/bin/influxd' }],
  'redis-server': [{ file: '/usr/bin/redis-server' }],
  chromium: [{ file: '/usr/bin/chromium' }],
  openssl: [{ command: 'openssl' }],
  'libxml2-utils': [{ command: 'xmllint' }],
  'python3-aiosmtpd': [{ python: 'aiosmtpd' }],
  'python3-pymodbus': [{ python: 'pymodbus' }],
  mbpoll: [{ file: '/usr/bin/mbpoll' }],
  haproxy: [{ file: '/usr/sbin/haproxy' }],
  'fonts-noto-cjk': [{ file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc' }],
};

/** The `packages=(...)` list of .ci/run, comments and line breaks allowed. */
export function ciPackages(text) {
  const m = /^packages=\(([^)]*)\)/m.exec(text);
  if (!m) throw new Error('.ci/run has no packages=(...) list');
  return m[1]
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(' ')
    .split(/\s+/)
    .filter(Boolean);
}

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function exists(file) {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command, env) {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)));
}

/** The Python modules of `modules` that Debian's python3 cannot import (all of them without python3). */
function missingPython(modules) {
  if (modules.length === 0 || !executable(PYTHON)) return modules;
  const r = spawnSync(
    PYTHON,
    [
      '-c',
      'import importlib.util,sys; print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))',
      ...modules,
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean) : modules;
}

function dpkgInstalled(pkg, env) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', env });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** The packages of `packages` that are missing, in list order. */
export function missingPackages(packages, env = process.env) {
  const modules = packages.flatMap((p) => (PROBES[p] ?? []).filter((x) => x.python).map((x) => x.python));
  const absentModules = new Set(missingPython(modules));
  return packages.filter((pkg) => {
    const probes = PROBES[pkg];
    if (!probes) return !dpkgInstalled(pkg, env);
    return !probes.every((p) =>
      p.command ? onPath(p.command, env) : p.file ? exists(p.file) : !absentModules.has(p.python),
    );
  });
}

function installCommand(missing, root) {
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y ${missing.join(' ')}`;
}

function main() {
  const packages = ciPackages(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
  let missing = missingPackages(packages);
  if (missing.length === 0) return 0;
  const root = process.getuid?.() === 0;
  if (root && process.env.CI === 'true') {
    console.log(`check-test-tools: installing ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [
      ['update', '-qq'],
      ['install', '-y', '-qq', ...missing],
    ]) {
      const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
      if (r.status !== 0) break;
    }
    missing = missingPackages(packages);
    if (missing.length === 0) return 0;
  }
  console.error(
    `npm test: the tests need Debian packages that are missing: ${missing.join(' ')}. Install them with: ${installCommand(missing, root)}`,
  );
  return 1;
}

if (import.meta.filename === process.argv[1]) process.exitCode = main();
