import { describe, expect, it } from 'vitest';
import type { ContainerSpec } from '../container/spec.js';
import type { Container, Engine, RunOptions } from '../engine/engine.js';
import { CspecError } from '../errors.js';
import { withContainer } from './with-container.js';

function fakeEngine(options: { removeFails?: boolean; runFails?: boolean } = {}) {
  const events: string[] = [];
  const runs: { spec: ContainerSpec; options: RunOptions | undefined }[] = [];
  const engine = {
    async run(spec: ContainerSpec, runOptions?: RunOptions) {
      runs.push({ spec, options: runOptions });
      if (options.runFails) throw new CspecError('CSPEC_CONTAINER_START_FAILED', 'did not start');
      events.push('run');
      return {
        id: 'c1',
        async remove() {
          events.push('remove');
          if (options.removeFails) throw new CspecError('CSPEC_INTERNAL', 'remove failed');
        },
      } as unknown as Container;
    },
  } as unknown as Engine;
  return { engine, events, runs };
}

const spec: ContainerSpec = { image: 'img', command: ['true'] };

describe('withContainer', () => {
  it('runs the spec, returns what fn returns and removes the container', async () => {
    const { engine, events, runs } = fakeEngine();
    const signal = new AbortController().signal;
    const result = await withContainer(
      spec,
      async (c) => {
        events.push(`fn ${c.id}`);
        return 42;
      },
      { engine, signal },
    );
    expect(result).toBe(42);
    expect(events).toEqual(['run', 'fn c1', 'remove']);
    expect(runs).toEqual([{ spec, options: { signal } }]);
  });

  it('removes the container when fn throws, and rethrows the same error', async () => {
    const { engine, events } = fakeEngine();
    const boom = new TypeError('boom');
    await expect(
      withContainer(
        spec,
        async () => {
          throw boom;
        },
        { engine },
      ),
    ).rejects.toBe(boom);
    expect(events).toEqual(['run', 'remove']);
    expect('suppressed' in boom).toBe(false);
  });

  it('keeps the original error when removal fails too, attaching the removal error as `suppressed`', async () => {
    const { engine, events } = fakeEngine({ removeFails: true });
    const boom = new Error('boom');
    const error = await withContainer(
      spec,
      async () => {
        throw boom;
      },
      { engine },
    ).catch((e: unknown) => e);
    expect(error).toBe(boom);
    expect((error as { suppressed?: Error }).suppressed?.message).toBe('remove failed');
    expect(Object.keys(boom)).not.toContain('suppressed');
    expect(events).toEqual(['run', 'remove']);
  });

  it('throws the removal error when only removal fails', async () => {
    const { engine } = fakeEngine({ removeFails: true });
    await expect(withContainer(spec, async () => 'ok', { engine })).rejects.toThrow('remove failed');
  });

  it('does not call fn when the container does not start', async () => {
    const { engine, events } = fakeEngine({ runFails: true });
    let called = false;
    await expect(
      withContainer(
        spec,
        async () => {
          called = true;
        },
        { engine },
      ),
    ).rejects.toThrow('did not start');
    expect(called).toBe(false);
    expect(events).toEqual([]);
  });
});
