import { changed, signboardConfigs } from './agent-support.ts';
import { CommandRefused } from './commands.ts';
import { loadConfigFile } from './config/load.ts';
import type { GatewayConfig } from './config/schema.ts';

/** What a reload replaces besides drivers, rules and sampling (which it always applies). */
export interface ReloadPlan {
  next: GatewayConfig;
  /** Outputs or the official-level settings changed: new alarm and local site. */
  outputs: boolean;
  /**
   * The uplink or the signboards changed: new connection and forwarder (a new subscription is what
   * brings the retained notices to new or changed signboards).
   */
  uplink: boolean;
}

/**
 * Reads the config file again and decides what a reload must rebuild. Refuses (CommandRefused, the
 * running config untouched) an invalid file, another site or gateway id, and queue settings, which
 * only apply at restart.
 */
export function planReload(configPath: string | undefined, prev: GatewayConfig): ReloadPlan {
  if (!configPath) throw new CommandRefused('no config file to reload');
  const r = loadConfigFile(configPath);
  if (!r.ok) throw new CommandRefused(`config refused: ${r.errors.join('; ')}`);
  const next = r.config;
  if (next.site !== prev.site || next.gateway !== prev.gateway) {
    throw new CommandRefused('site and gateway cannot change by reload; restart the service');
  }
  if (changed(next, prev, 'queue')) throw new CommandRefused('queue settings change only at restart');
  return {
    next,
    outputs: changed(next, prev, 'outputs') || changed(next, prev, 'official'),
    uplink:
      changed(next, prev, 'uplink') ||
      JSON.stringify(signboardConfigs(next)) !== JSON.stringify(signboardConfigs(prev)),
  };
}

/** The ack's result: what was applied, in the order the reload applied it. */
export function reloadResult(plan: ReloadPlan): { applied: string[] } {
  return {
    applied: [
      ...(plan.outputs ? ['outputs'] : []),
      'drivers',
      'rules',
      'sampling',
      ...(plan.uplink ? ['uplink'] : []),
    ],
  };
}
