import { describe, expect, it } from 'vitest';
import { COMMAND_ENTRIES, main } from '../main.ts';

describe('slopeguard CLI', () => {
  it('lists every command, and each registry entry matches its command file', async () => {
    for (const entry of COMMAND_ENTRIES) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
      expect(command.usage.startsWith(`Usage: slopeguard ${entry.name}`)).toBe(true);
    }
  });

  it('answers --help on every command with exit 0, and an unknown command with exit 2', async () => {
    const log = console.log;
    const error = console.error;
    const printed: string[] = [];
    console.log = (s: string) => printed.push(s);
    console.error = (s: string) => printed.push(s);
    try {
      for (const entry of COMMAND_ENTRIES) expect(await main([entry.name, '--help'])).toBe(0);
      expect(await main(['--help'])).toBe(0);
      expect(await main(['no-such-command'])).toBe(2);
      expect(await main(['demo', '--no-such-flag'])).toBe(2);
    } finally {
      console.log = log;
      console.error = error;
    }
    expect(printed.some((p) => p.includes('unknown command "no-such-command"'))).toBe(true);
    expect(printed.some((p) => p.includes("Unknown option '--no-such-flag'"))).toBe(true);
  });
});
