import { type ParseArgsConfig, parseArgs } from 'node:util';

/** One `slopeguard <name>` subcommand. Each lives in its own file under cli/commands/. */
export interface CliCommand {
  name: string;
  summary: string;
  /** Usage text printed by `--help`; starts with the usage line. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export class UsageError extends Error {}

/** Strict argument parsing: an unknown flag is a usage error, never silently ignored. */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}
