import { type CliCommand, UsageError } from './command.ts';

/** Runs one subcommand: `--help` prints its usage, a usage error prints the message and usage (exit 2). */
export async function runCommand(command: CliCommand, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`slopeguard ${command.name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    throw err;
  }
}
