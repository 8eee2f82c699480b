import { describe, expect, it } from 'vitest';
import { SignInLimiter } from '../src/auth/rate-limit.ts';

/**
 * The sign-in limiter on its own, on a fake clock: attempts still being checked count, so a burst
 * cannot all pass before the first failure is recorded (the HTTP test cannot pin this down: how
 * many requests of its burst overlap depends on the machine's load).
 */
describe('SignInLimiter', () => {
  it('lets two attempts from one address be checked at once and refuses a third until one ends', () => {
    const limiter = new SignInLimiter({ now: () => 1_000_000 });
    expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
    expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
    expect(limiter.begin('lee', '10.0.0.1')).toBe(1000);
    // Another account from another address is not held up by them.
    expect(limiter.begin('kim', '10.0.0.2')).toBe(0);
    limiter.end('lee', '10.0.0.1', false);
    expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
  });

  it('backs off once the free failures of an address are used, and a success clears it', () => {
    let now = 1_000_000;
    const limiter = new SignInLimiter({ now: () => now, addressFreeFailures: 5 });
    for (let i = 0; i < 4; i++) {
      expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
      limiter.end('lee', '10.0.0.1', false);
    }
    expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
    limiter.end('lee', '10.0.0.1', false);
    expect(limiter.begin('lee', '10.0.0.1')).toBe(1000);
    now += 1000;
    expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
    limiter.end('lee', '10.0.0.1', true);
    expect(limiter.begin('lee', '10.0.0.1')).toBe(0);
  });
});
