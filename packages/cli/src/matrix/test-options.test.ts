import { describe, expect, it } from 'vitest';
import { resolveEnvFlags, resolveParallel } from './test-options.js';

describe('cspec test options', () => {
  it('runs one distribution per CPU unless told, and at least one', () => {
    expect(resolveParallel(undefined, 4)).toBe(4);
    expect(resolveParallel(undefined, 0)).toBe(1);
    expect(resolveParallel('3', 4)).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'two', ''])
      expect(() => resolveParallel(bad)).toThrow(/invalid --parallel/);
  });

  it('sets variables, copies NAME from the shell, and skips it when unset there', () => {
    expect(resolveEnvFlags(['A=1', 'B=x=y', 'HOME', 'UNSET'], { HOME: '/root' })).toEqual({
      A: '1',
      B: 'x=y',
      HOME: '/root',
    });
    expect(() => resolveEnvFlags(['=1'], {})).toThrow(/invalid --env "=1"/);
    expect(() => resolveEnvFlags(['1A=x'], {})).toThrow(/invalid --env/);
  });
});
