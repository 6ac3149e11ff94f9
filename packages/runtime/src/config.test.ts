import { describe, expect, test } from 'vitest';
import { resolveConfig } from './config.js';

describe('resolveConfig: network namespaces made ahead', () => {
  test('8 by default, CSPEC_NETNS_POOL or the override otherwise', () => {
    expect(resolveConfig({}, {}).netnsPoolSize).toBe(8);
    expect(resolveConfig({}, { CSPEC_NETNS_POOL: '0' }).netnsPoolSize).toBe(0);
    expect(resolveConfig({}, { CSPEC_NETNS_POOL: '3' }).netnsPoolSize).toBe(3);
    expect(resolveConfig({ netnsPoolSize: 2 }, { CSPEC_NETNS_POOL: '3' }).netnsPoolSize).toBe(2);
  });

  test('a value that is not a whole number is refused, naming the variable', () => {
    for (const bad of ['-1', '2.5', 'many']) {
      expect(() => resolveConfig({}, { CSPEC_NETNS_POOL: bad })).toThrow(
        `CSPEC_NETNS_POOL must be a whole number of namespaces (0 turns the pool off), not "${bad}"`,
      );
    }
  });
});
