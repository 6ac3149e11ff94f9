import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { withImageHealthcheck } from './spec.js';
import { logWaitSatisfied, NotReadyError, type WaitTarget, waitFor } from './wait-for.js';

function fakeTarget(overrides: Partial<WaitTarget> = {}): WaitTarget & { execs: number } {
  const target = {
    execs: 0,
    pid: () => undefined,
    ipAddress: undefined,
    ports: {},
    async exec() {
      target.execs++;
      return { exitCode: 1, stdout: '', stderr: '', output: '' };
    },
    logText: async () => '',
    exited: () => undefined,
    ...overrides,
  };
  return target;
}

describe('waitFor', () => {
  it('log: matches in the skipped log of an init-cache start count towards times', async () => {
    const ready = 'ready to accept connections';
    let log = '';
    const target = fakeTarget({ logText: async () => log, skippedLog: `init\n${ready}\ninit complete\n` });
    const waiting = waitFor({ type: 'log', pattern: ready, times: 2 }, target, AbortSignal.timeout(5_000));
    let done = false;
    void waiting.then(() => {
      done = true;
    });
    await sleep(50);
    expect(done).toBe(false);
    log = `starting\n${ready}\n`;
    await waiting;
    // Without a skipped log the same strategy needs both lines in the container's own log.
    const plain = fakeTarget({ logText: async () => log });
    const error = await waitFor(
      { type: 'log', pattern: ready, times: 2 },
      plain,
      AbortSignal.timeout(100),
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
  });

  it('log: a skipped log never satisfies a wait alone, whatever its count', () => {
    const ready = 'ready to accept connections';
    const skipped = `init\n${ready}\nPostgreSQL init process complete\n`;
    // The issue #19 race: one match, met by the init phase's server that is gone.
    expect(logWaitSatisfied({ pattern: ready }, '', skipped)).toBe(false);
    expect(logWaitSatisfied({ pattern: ready }, 'starting\n', skipped)).toBe(false);
    expect(logWaitSatisfied({ pattern: ready }, `${ready}\n`, skipped)).toBe(true);
    expect(logWaitSatisfied({ pattern: ready, times: 2 }, `${ready}\n`, skipped)).toBe(true);
    expect(logWaitSatisfied({ pattern: ready, times: 3 }, `${ready}\n`, skipped)).toBe(false);
    expect(logWaitSatisfied({ pattern: ready, times: 2 }, `${ready}\n`)).toBe(false);
  });

  it('log after: counts what follows the first line matching `after`, and nothing before it appears', () => {
    const ready = 'ready to accept connections';
    const after = '^PostgreSQL init process complete';
    const init = `initdb\n${ready}\nPostgreSQL init process complete; ready for start up.\n`;
    expect(logWaitSatisfied({ pattern: ready, after }, `initdb\n${ready}\n`)).toBe(false);
    expect(logWaitSatisfied({ pattern: ready, after }, init)).toBe(false);
    expect(logWaitSatisfied({ pattern: ready, after }, `${init}starting\n${ready}\n`)).toBe(true);
    expect(logWaitSatisfied({ pattern: ready, after, times: 2 }, `${init}${ready}\n`)).toBe(true);
    // The done line itself is before the cut.
    expect(logWaitSatisfied({ pattern: 'init process complete', after }, init)).toBe(false);
  });

  it('all: when one check fails, the others stop polling', async () => {
    const target = fakeTarget();
    const error = await waitFor(
      {
        type: 'all',
        of: [
          { type: 'command', command: ['false'] },
          { type: 'http', port: 80 },
        ],
      },
      target,
      AbortSignal.timeout(10_000),
    ).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    const after = target.execs;
    await sleep(400);
    expect(target.execs).toBe(after);
  });

  it('all: resolves once every check passed', async () => {
    let log = '';
    setTimeout(() => {
      log = 'ready\n';
    }, 50);
    const target = fakeTarget({
      logText: async () => log,
      exec: async () => ({ exitCode: 0, stdout: '', stderr: '', output: '' }),
    });
    await waitFor(
      {
        type: 'all',
        of: [
          { type: 'log', pattern: 'ready' },
          { type: 'command', command: ['true'] },
        ],
      },
      target,
      AbortSignal.timeout(5_000),
    );
    expect(log).toBe('ready\n');
  });

  it('fails with the exit code when the container exits before it is ready', async () => {
    const target = fakeTarget({ exited: () => ({ exitCode: 3, oomKilled: false }) });
    const error = await waitFor({ type: 'log', pattern: 'never' }, target, AbortSignal.timeout(5_000)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotReadyError);
    expect((error as Error).message).toContain('exited with code 3');
  });
});

describe('withImageHealthcheck', () => {
  it('puts the image command where the strategy asks for it, also inside all-of', () => {
    const cmd = ['/bin/sh', '-c', 'pg_isready'];
    expect(withImageHealthcheck({ type: 'healthcheck' }, cmd)).toEqual({ type: 'command', command: cmd });
    expect(
      withImageHealthcheck({ type: 'all', of: [{ type: 'ports' }, { type: 'healthcheck' }] }, cmd),
    ).toEqual({ type: 'all', of: [{ type: 'ports' }, { type: 'command', command: cmd }] });
    expect(withImageHealthcheck({ type: 'log', pattern: 'x' }, undefined)).toEqual({
      type: 'log',
      pattern: 'x',
    });
    expect(withImageHealthcheck({ type: 'all', of: [{ type: 'healthcheck' }] }, undefined)).toBeUndefined();
  });
});
