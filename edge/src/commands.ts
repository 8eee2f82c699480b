import type { Command, CommandResult } from '@slopeguard/core';

/**
 * Commands from the control center on `.../cmd`, each answered on `.../cmd/ack` (CommandAck). A
 * handler returns a result or throws CommandRefused; an unknown name gets a negative ack.
 *   set-sampling-interval {ms, driver?}   test-siren {seconds?, output?}
 *   reload-config {}                      health-report {}            release-local {operator}
 */
export class CommandRefused extends Error {
  readonly code = 'SG_ERR_EDGE_COMMAND';
}

export type CommandHandler = (
  args: Record<string, unknown>,
) => Promise<CommandResult | undefined> | CommandResult | undefined;

export interface CommandOutcome {
  ok: boolean;
  result?: CommandResult;
  error?: string;
}

export async function runCommand(
  cmd: Command,
  handlers: Record<string, CommandHandler>,
): Promise<CommandOutcome> {
  const handler = Object.hasOwn(handlers, cmd.name) ? handlers[cmd.name] : undefined;
  if (!handler) return { ok: false, error: `unknown command ${JSON.stringify(cmd.name)}` };
  try {
    const result = await handler(cmd.args ?? {});
    return result === undefined ? { ok: true } : { ok: true, result };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export function intArg(
  args: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  const v = args[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new CommandRefused(`args.${name} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

export function stringArg(args: Record<string, unknown>, name: string): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 64)
    throw new CommandRefused(`args.${name} must be a string`);
  return v;
}
