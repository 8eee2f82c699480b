import type { Level } from '@slopeguard/core';
import { checkThresholdRules, createThresholdRules } from './interim.ts';
import type { LocalRules } from './types.ts';

export type { LevelChange, LocalRules } from './types.ts';

/** Rules that never raise a level: a gateway without `rules` still forwards and follows the official level. */
const NONE: LocalRules = {
  level: 0 as Level,
  push: () => [],
  tick: () => [],
  release: () => [],
  state: () => ({}),
};

/** Errors in the `rules` block, each with its path below /rules. */
export function checkRules(rules: unknown): string[] {
  if (rules === undefined) return [];
  const r = checkThresholdRules(rules);
  return r.ok ? [] : r.errors.map((e) => (e.startsWith('/') ? e : `/${e}`));
}

export function createRules(rules: unknown, saved?: unknown): LocalRules {
  if (rules === undefined) return NONE;
  const r = checkThresholdRules(rules);
  if (!r.ok) throw new Error(`invalid rules: ${r.errors.join('; ')}`);
  return createThresholdRules(r.value, saved);
}
