import type { CliCommand } from './command.ts';
import { UsageError } from './command.ts';
import { backtestCommand } from './commands/backtest.ts';
import { certsCommand } from './commands/certs.ts';
import { demoCommand } from './commands/demo.ts';
import { deviceCommand } from './commands/device.ts';
import { edgeCommand } from './commands/edge.ts';
import { serverCommand } from './commands/server.ts';
import { simCommand } from './commands/sim.ts';

/** The registry of subcommands: one file each in cli/commands/, one line each here. */
const COMMANDS: readonly CliCommand[] = [
  demoCommand,
  serverCommand,
  edgeCommand,
  deviceCommand,
  certsCommand,
  simCommand,
  backtestCommand,
];

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
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`slopeguard: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`slopeguard ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    throw err;
  }
}
