/** Types of check-test-tools.mjs (plain JavaScript so that any Node runs it), for its tests. */
export function ciPackages(text: string): string[];
export function missingPackages(packages: readonly string[], env?: NodeJS.ProcessEnv): string[];
