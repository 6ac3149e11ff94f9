import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchFileChanges } from './file-changes.js';

const run = promisify(execFile);

describe('watchFileChanges', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-changes-'));
    file = join(dir, 'log');
    await writeFile(file, '');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('wakes as soon as another process appends, long before the fallback tick', async () => {
    const changes = watchFileChanges(file);
    try {
      const t0 = performance.now();
      const woke = changes.next(20_000, new AbortController().signal);
      await run('sh', ['-c', 'echo ready >> "$1"', 'sh', file]);
      await woke;
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      changes.close();
    }
  });

  it('remembers a change made while nobody waited', async () => {
    const changes = watchFileChanges(file);
    try {
      await run('sh', ['-c', 'echo a >> "$1"', 'sh', file]);
      // The event is delivered on the loop; give it a turn before asking.
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      await changes.next(20_000, new AbortController().signal);
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      changes.close();
    }
  });

  it('falls back to the tick without changes, and rejects on abort', async () => {
    const changes = watchFileChanges(file);
    try {
      const t0 = performance.now();
      await changes.next(30, new AbortController().signal);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
      const abort = new AbortController();
      const waiting = changes.next(20_000, abort.signal);
      abort.abort(new Error('stop'));
      await expect(waiting).rejects.toThrow('stop');
    } finally {
      changes.close();
    }
  });

  it('polls by the tick when the file cannot be watched', async () => {
    const changes = watchFileChanges(join(dir, 'missing'));
    const t0 = performance.now();
    await changes.next(30, new AbortController().signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    changes.close();
  });
});
