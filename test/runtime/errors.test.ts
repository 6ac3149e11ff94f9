import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine, isCspecError } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';

const engine = useEngine();

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    expect(isCspecError(error), String(error)).toBe(true);
    expectNoLeaks();
    return error as Error & { code: string; hint?: string };
  }
  throw new Error('expected a failure');
}

describe('bad input gives one clear error and leaves nothing behind', () => {
  it('unknown image', async () => {
    const error = await failure(engine().run({ image: 'cspec/nosuch:1', command: ['true'] }));
    expect(error.code).toBe('CSPEC_IMAGE_NOT_FOUND');
    expect(error.message).toContain('cspec/nosuch:1');
  });

  it('malformed reference', async () => {
    const error = await failure(engine().run({ image: 'Bad Image::', command: ['true'] }));
    expect(error.code).toBe('CSPEC_INVALID_REFERENCE');
  });

  it('unknown Debian suite', async () => {
    const error = await failure(engine().run({ image: 'cspec/debian:potato', command: ['true'] }));
    expect(error.code).toBe('CSPEC_IMAGE_NOT_FOUND');
    expect(error.message).toMatch(/bookworm/);
  });

  it('port out of range', async () => {
    const error = await failure(engine().run({ image: IMAGE, ports: [70000] }));
    expect(error.code).toBe('CSPEC_INVALID_SPEC');
    expect(error.message).toContain('70000');
  });

  it('command not found in the image', async () => {
    const error = await failure(engine().run({ image: IMAGE, command: ['no-such-command', '--flag'] }));
    expect(error.code).toBe('CSPEC_COMMAND_NOT_FOUND');
    expect(error.message).toContain('"no-such-command"');
  });

  it('container exiting before it is ready', async () => {
    const error = await failure(
      engine().run({
        image: IMAGE,
        command: ['sh', '-c', 'echo starting; echo "fatal: config missing" >&2; exit 2'],
        wait: { type: 'log', pattern: 'ready to accept' },
      }),
    );
    expect(error.code).toBe('CSPEC_CONTAINER_NOT_READY');
    expect(error.message).toContain('exited with code 2');
    expect(error.message).toContain('fatal: config missing');
  });

  it('readiness timeout, with the last log lines', async () => {
    const error = await failure(
      engine().run({
        image: IMAGE,
        command: ['sh', '-c', 'echo still-booting; exec sleep 300'],
        wait: { type: 'log', pattern: 'never printed' },
        startupTimeoutMs: 1500,
      }),
    );
    expect(error.code).toBe('CSPEC_CONTAINER_NOT_READY');
    expect(error.message).toContain('1500 ms');
    expect(error.message).toContain('still-booting');
  });

  it('waiting for the HEALTHCHECK of an image that has none', async () => {
    const error = await failure(
      engine().run({ image: IMAGE, command: ['sleep', '300'], wait: { type: 'healthcheck' } }),
    );
    expect(error.code).toBe('CSPEC_INVALID_SPEC');
    expect(error.message).toContain('has no HEALTHCHECK');
  });

  it('memory limit below the minimum', async () => {
    const error = await failure(engine().run({ image: IMAGE, resources: { memoryBytes: 4096 } }));
    expect(error.code).toBe('CSPEC_INVALID_SPEC');
  });

  it('a bind mount source that does not exist', async () => {
    const error = await failure(
      engine().run({
        image: IMAGE,
        command: ['true'],
        mounts: [{ type: 'bind', source: '/nonexistent/cspec', target: '/x' }],
      }),
    );
    expect(error.message).toMatch(/nonexistent\/cspec/);
  });
});

describe('a start ended at any moment leaves nothing behind', () => {
  // Never ready: the start can only end by the deadline or the caller.
  const neverReady = {
    image: IMAGE,
    command: ['sleep', '300'],
    ports: [80],
    wait: { type: 'log', pattern: 'never printed' },
  } as const;

  it.each([
    1, 5, 15, 30, 60, 120, 250,
  ])('startup deadline of %i ms: CSPEC_CONTAINER_NOT_READY', async (ms) => {
    const error = await failure(engine().run({ ...neverReady, startupTimeoutMs: ms }));
    expect(error.code).toBe('CSPEC_CONTAINER_NOT_READY');
    expect(error.message).toContain(`within ${ms} ms`);
  });

  it.each([0, 5, 15, 30, 60, 120, 250])('caller aborts after %i ms: CSPEC_ABORTED', async (ms) => {
    const controller = new AbortController();
    const run = engine().run(neverReady, { signal: controller.signal });
    await sleep(ms);
    controller.abort();
    const error = await failure(run);
    expect(error.code).toBe('CSPEC_ABORTED');
  });

  it.each([
    0, 200,
  ])('closing the engine %i ms into starts ends them and removes their containers', async (ms) => {
    const own = await createEngine();
    const runs = [1, 2, 3].map(() =>
      own.run(neverReady).then(
        () => 'started',
        (e: unknown) => (isCspecError(e) ? e.code : String(e)),
      ),
    );
    await sleep(ms);
    await own.close();
    expect(await Promise.all(runs)).toEqual(['CSPEC_ABORTED', 'CSPEC_ABORTED', 'CSPEC_ABORTED']);
    expectNoLeaks();
    const late = await own.run(neverReady).catch((e: unknown) => e);
    expect(isCspecError(late, 'CSPEC_ABORTED')).toBe(true);
  });
});
