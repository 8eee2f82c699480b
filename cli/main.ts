import type { CliCommand } from './command.ts';
import { runCommand } from './run-command.ts';

/**
 * The registry of subcommands: one file each in cli/commands/, one entry each here. Commands load
 * only when run, so `slopeguard backtest` does not pay for the broker, Fastify or serial bindings.
 */
interface Entry {
  name: string;
  summary: string;
  load: () => Promise<CliCommand>;
}

const COMMANDS: readonly Entry[] = [
  {
    name: 'demo',
    summary: 'run broker, recorder, control center and simulated sites in one process',
    load: async () => (await import('./commands/demo.ts')).demoCommand,
  },
  {
    name: 'server',
    summary: 'run the broker, recorder, store and control center from a config file',
    load: async () => (await import('./commands/server.ts')).serverCommand,
  },
  {
    name: 'edge',
    summary: 'run the gateway agent (sensors -> durable queue -> broker, local alarms)',
    load: async () => (await import('./commands/edge.ts')).edgeCommand,
  },
  {
    name: 'device',
    summary: 'provision, list and revoke gateways and MQTT service accounts',
    load: async () => (await import('./commands/device.ts')).deviceCommand,
  },
  {
    name: 'user',
    summary: 'add, list, disable, enable operator accounts of the control center and set their passwords',
    load: async () => (await import('./commands/user.ts')).userCommand,
  },
  {
    name: 'audit',
    summary: 'verify and export the control center audit trail (SHA-256 chain)',
    load: async () => (await import('./commands/audit.ts')).auditCommand,
  },
  {
    name: 'certs',
    summary: 'make a private CA and TLS certificates for the broker and gateways (openssl)',
    load: async () => (await import('./commands/certs.ts')).certsCommand,
  },
  {
    name: 'sim',
    summary: 'virtual hardware: `sim device modbus|sdi12|line` on a pseudo-terminal',
    load: async () => (await import('./commands/sim.ts')).simCommand,
  },
  {
    name: 'backtest',
    summary: 'replay recorded readings through the alert engine and report level changes',
    load: async () => (await import('./commands/backtest.ts')).backtestCommand,
  },
];

/** The names and summaries above must match the command files (checked by cli/test/cli.test.ts). */
export const COMMAND_ENTRIES = COMMANDS;

function overview(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return [
    'Usage: slopeguard <command> [options]',
    '',
    'Slopeguard: early warning for steep slopes and landslides.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `slopeguard <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`slopeguard: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  return runCommand(await entry.load(), rest);
}
