import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts', 'cli/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Forks, not threads: tests start child processes and native serial bindings.
    pool: 'forks',
    reporters: ['default', './vitest.summary-reporter.ts'],
  },
});
