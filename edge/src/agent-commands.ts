import type { CommandResult, Status } from '@slopeguard/core';
import type { Alarm } from './alarm.ts';
import type { Clock } from './clock.ts';
import { type CommandHandler, CommandRefused, intArg, stringArg } from './commands.ts';
import type { GatewayConfig } from './config/schema.ts';
import type { LocalSite } from './local.ts';
import type { ReadingQueue } from './queue/queue.ts';

/** What the command handlers may touch of the agent; getters, because reload replaces parts. */
export interface CommandContext {
  config(): GatewayConfig;
  local(): LocalSite;
  alarm(): Alarm;
  queue: ReadingQueue;
  clock: Clock;
  status(): Status;
  publishStatus(): Promise<void>;
  reload(): Promise<CommandResult>;
}

/**
 * The gateway's commands (docs/gateway.md, "Commands"), by name. Each returns its result or throws
 * CommandRefused; runCommand (commands.ts) turns either into the ack.
 */
export function commandHandlers(c: CommandContext): Record<string, CommandHandler> {
  return {
    'set-sampling-interval': (args) => {
      const ms = intArg(args, 'ms', 100, 86_400_000);
      const driver = stringArg(args, 'driver');
      const drivers = c.local().setNormalInterval(ms, driver);
      if (drivers.length === 0) throw new CommandRefused(`no driver ${JSON.stringify(driver)}`);
      return { drivers, ms };
    },
    'test-siren': (args) => {
      const seconds = intArg(args, 'seconds', 1, c.config().testSirenMaxS, 5);
      const outputs = c.alarm().test(seconds, stringArg(args, 'output'));
      if (outputs.length === 0) throw new CommandRefused('no such output');
      c.queue.appendEvent({ type: 'output_test', ts: c.clock.now(), outputs, seconds });
      return { outputs, seconds };
    },
    'reload-config': () => c.reload(),
    'health-report': async () => {
      const status = c.status();
      await c.publishStatus();
      return status;
    },
    'release-local': (args) => {
      const operator = stringArg(args, 'operator');
      if (!operator) throw new CommandRefused('args.operator is required');
      return { changes: c.local().release(operator).length, level: c.local().level };
    },
  };
}
