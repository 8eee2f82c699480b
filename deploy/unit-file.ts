import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Reads the gateway's systemd unit (deploy/systemd/slopeguard-edge.service) so that tests and the
 * benchmark start the gateway exactly as the unit does: same binary, same Node flags, same
 * environment, same bundle. Only the install paths are mapped onto a checkout.
 */
export const ROOT = resolve(import.meta.dirname, '..');
export const EDGE_UNIT = join(ROOT, 'deploy', 'systemd', 'slopeguard-edge.service');

const INSTALL_DIR = '/opt/slopeguard';
const INSTALLED_CONFIG = '/etc/slopeguard/gateway.yaml';

export interface UnitService {
  /** `Environment=K=V` lines, in order (later wins). */
  environment: Record<string, string>;
  /** `ExecStart=` split into words (systemd's quoting is not used by our units and not supported). */
  execStart: string[];
  execStartPre: string[][];
}

/** Parses the [Service] keys we use. Continuation lines and quoting are refused, not guessed. */
export function parseUnit(text: string): UnitService {
  const service: UnitService = { environment: {}, execStart: [], execStartPre: [] };
  let section = '';
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (section !== '[Service]') continue;
    if (line.endsWith('\\') || line.includes('"'))
      throw new Error(`unit line ${i + 1}: quoting and continuation lines are not supported`);
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'Environment') {
      const e = value.indexOf('=');
      service.environment[value.slice(0, e)] = value.slice(e + 1);
    } else if (key === 'ExecStart') service.execStart = value.split(/\s+/);
    else if (key === 'ExecStartPre') service.execStartPre.push(value.split(/\s+/));
  }
  if (service.execStart.length === 0) throw new Error('unit has no ExecStart');
  return service;
}

export interface GatewayCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The unit's ExecStart for a checkout at ROOT: /opt/slopeguard -> ROOT (or `bundleDir` for the
 * bundle's directory, when a test builds its own), /etc/slopeguard/gateway.yaml -> `config`.
 */
export function gatewayCommand(
  config: string,
  options: { unitFile?: string; bundleDir?: string; line?: 'ExecStart' | 'ExecStartPre' } = {},
): GatewayCommand {
  const unit = parseUnit(readFileSync(options.unitFile ?? EDGE_UNIT, 'utf8'));
  const words = options.line === 'ExecStartPre' ? unit.execStartPre[0] : unit.execStart;
  if (!words) throw new Error(`unit has no ${options.line}`);
  const map = (word: string) => {
    if (word === INSTALLED_CONFIG) return config;
    if (options.bundleDir && word.startsWith(`${INSTALL_DIR}/dist/gateway/`))
      return join(options.bundleDir, word.slice(`${INSTALL_DIR}/dist/gateway/`.length));
    return word.startsWith(`${INSTALL_DIR}/`) ? join(ROOT, word.slice(INSTALL_DIR.length + 1)) : word;
  };
  const [command, ...args] = words.map(map);
  return { command: command as string, args, env: unit.environment };
}
