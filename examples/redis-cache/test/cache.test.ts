import { test } from 'cspec/vitest';
import { expect, vi } from 'vitest';
import { ReadThroughCache } from '../src/cache.js';

// Every test gets a Redis database of its own (flushed afterwards): same keys, no interference.
test('computes once, then serves from Redis', async ({ cache }) => {
  const compute = vi.fn(async () => ({ id: 7, name: 'Ada' }));
  const users = new ReadThroughCache(cache.client, 60);
  expect(await users.get('user:7', compute)).toEqual({ id: 7, name: 'Ada' });
  expect(await users.get('user:7', compute)).toEqual({ id: 7, name: 'Ada' });
  expect(compute).toHaveBeenCalledTimes(1);
  expect(await cache.client.ttl('user:7')).toBeGreaterThan(50);
});

test('starts empty even though the test above wrote the same key', async ({ cache }) => {
  expect(await cache.client.dbsize()).toBe(0);
});

test('invalidates by prefix', async ({ cache }) => {
  const users = new ReadThroughCache(cache.client, 60);
  for (const id of [1, 2, 3]) await users.get(`user:${id}`, async () => id);
  await users.get('order:1', async () => 'o1');
  expect(await users.invalidate('user:')).toBe(3);
  expect(await cache.client.keys('*')).toEqual(['order:1']);
});

test('expired entries are computed again', async ({ cache }) => {
  const users = new ReadThroughCache(cache.client, 1);
  await users.get('k', async () => 'first');
  await cache.client.pexpire('k', 1);
  await new Promise((r) => setTimeout(r, 20));
  expect(await users.get('k', async () => 'second')).toBe('second');
});
