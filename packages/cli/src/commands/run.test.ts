import { PassThrough } from 'node:stream';
import type { Container, ContainerSpec, Engine, ExitStatus, RunOptions } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { UsageError } from '../usage-error.js';
import { runCommand } from './run.js';

/** A fake engine for the command's own logic; the real one is tested end to end in test/cli. */
function fakeEngine(
  exit: ExitStatus | (() => Promise<ExitStatus>),
  runError?: unknown,
  /** Like an init that ignores SIGTERM: only kill() ends it. */
  ignoresStop = false,
) {
  const calls: { spec: ContainerSpec; options: RunOptions | undefined }[] = [];
  const events: string[] = [];
  let resolveStop: ((s: ExitStatus) => void) | undefined;
  const stopped = new Promise<ExitStatus>((r) => {
    resolveStop = r;
  });
  const container = {
    id: 'c0ffee'.repeat(8),
    wait: () => (typeof exit === 'function' ? Promise.race([exit(), stopped]) : Promise.resolve(exit)),
    stop: async () => {
      events.push('stop');
      if (!ignoresStop) resolveStop?.({ exitCode: 143, oomKilled: false });
      return stopped;
    },
    kill: async () => {
      events.push('kill');
      resolveStop?.({ exitCode: 137, oomKilled: false });
    },
    remove: async () => {
      events.push('remove');
    },
  } as unknown as Container;
  const engine = {
    run: async (spec: ContainerSpec, options?: RunOptions) => {
      calls.push({ spec, options });
      if (runError) throw runError;
      return container;
    },
  } as unknown as Engine;
  return { engine, calls, events };
}

function context(
  argv: string[],
  engine: Engine,
  controller = new AbortController(),
  force = new AbortController(),
) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const ctx: CommandContext = {
    args: parseArgs(argv, runCommand.flags, { stopAtFirstPositional: true, command: 'run' }),
    out: {
      line: (t = '') => stdout.push(`${t}\n`),
      raw: (t) => stdout.push(t),
      rawError: (t) => stderr.push(t),
      binary: new PassThrough(),
      progressStream: new PassThrough(),
      table: () => {},
      json: () => {},
      info: (t) => stderr.push(`${t}\n`),
      error: (m) => stderr.push(`error: ${m}\n`),
      interactive: false,
      color: false,
    },
    env: {},
    signal: controller.signal,
    forceSignal: force.signal,
    engine: async () => engine,
  };
  return { ctx, stdout: () => stdout.join(''), stderr: () => stderr.join('') };
}

describe('cspec run', () => {
  it('runs attached, keeps the container without --rm, and exits with its code', async () => {
    const fake = fakeEngine({ exitCode: 3, oomKilled: false });
    const { ctx, stdout, stderr } = context(['img', 'sh', '-c', 'exit 3'], fake.engine);
    expect(await runCommand.run(ctx)).toBe(3);
    expect(fake.calls[0]?.spec).toEqual({ image: 'img', command: ['sh', '-c', 'exit 3'] });
    expect(fake.calls[0]?.options).toMatchObject({ inheritStdio: true, detached: true });
    expect(fake.events).toEqual([]);
    expect(stdout()).toBe('');
    expect(stderr()).toBe('');
  });

  it('with --rm: owned by the session and removed after it exits', async () => {
    const fake = fakeEngine({ exitCode: 0, oomKilled: false });
    const { ctx } = context(['--rm', 'img'], fake.engine);
    expect(await runCommand.run(ctx)).toBe(0);
    expect(fake.calls[0]?.options).toMatchObject({ inheritStdio: true, detached: false });
    expect(fake.events).toEqual(['remove']);
  });

  it('says the memory limit killed it and exits 137', async () => {
    const fake = fakeEngine({ exitCode: 137, oomKilled: true });
    const { ctx, stderr } = context(['--rm', '--memory', '64m', 'img'], fake.engine);
    expect(await runCommand.run(ctx)).toBe(137);
    expect(stderr()).toBe('cspec: container was killed: out of memory (limit 64 MiB)\n');
  });

  it('passes the real exit code when only a child was OOM-killed', async () => {
    const fake = fakeEngine({ exitCode: 0, oomKilled: true });
    const { ctx, stderr } = context(['--rm', '--memory', '64m', 'img'], fake.engine);
    expect(await runCommand.run(ctx)).toBe(0);
    expect(stderr()).toBe('cspec: a process in the container was killed: out of memory (limit 64 MiB)\n');
  });

  it('-d prints the id and leaves the container running', async () => {
    const fake = fakeEngine({ exitCode: 0, oomKilled: false });
    const { ctx, stdout } = context(['-d', 'img'], fake.engine);
    expect(await runCommand.run(ctx)).toBe(0);
    expect(stdout()).toBe(`${'c0ffee'.repeat(8)}\n`);
    expect(fake.calls[0]?.options).toMatchObject({ detached: true });
    expect(fake.calls[0]?.options?.inheritStdio).toBeUndefined();
  });

  it('Ctrl-C stops the container and exits 130', async () => {
    const fake = fakeEngine(() => new Promise(() => {}));
    const controller = new AbortController();
    const { ctx } = context(['--rm', 'img', 'sleep', '100'], fake.engine, controller);
    const done = runCommand.run(ctx);
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await done).toBe(130);
    expect(fake.events).toEqual(['stop', 'remove']);
  });

  it('a second Ctrl-C kills the container', async () => {
    const fake = fakeEngine(() => new Promise(() => {}), undefined, true);
    const controller = new AbortController();
    const force = new AbortController();
    const { ctx } = context(['img'], fake.engine, controller, force);
    const done = runCommand.run(ctx);
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    force.abort();
    expect(await done).toBe(130);
    expect(fake.events).toEqual(['stop', 'kill']);
  });

  it('turns an invalid spec reported by the engine into a usage error', async () => {
    const invalid = Object.assign(new Error('memory limit 1024 bytes is below the minimum of 6 MiB'), {
      code: 'CSPEC_INVALID_SPEC',
      [Symbol.for('dev.cspec.error')]: true,
    });
    const fake = fakeEngine({ exitCode: 0, oomKilled: false }, invalid);
    const { ctx } = context(['--memory', '1k', 'img'], fake.engine);
    await expect(runCommand.run(ctx)).rejects.toThrow(UsageError);
    await expect(runCommand.run(ctx)).rejects.toThrow('below the minimum of 6 MiB');
  });

  it('passes other engine errors through unchanged', async () => {
    const notFound = Object.assign(new Error('image not found'), {
      code: 'CSPEC_IMAGE_NOT_FOUND',
      [Symbol.for('dev.cspec.error')]: true,
    });
    const fake = fakeEngine({ exitCode: 0, oomKilled: false }, notFound);
    await expect(runCommand.run(context(['img'], fake.engine).ctx)).rejects.toBe(notFound);
  });

  it('refuses --rm with -d', async () => {
    const fake = fakeEngine({ exitCode: 0, oomKilled: false });
    await expect(runCommand.run(context(['--rm', '-d', 'img'], fake.engine).ctx)).rejects.toThrow(UsageError);
    expect(fake.calls).toEqual([]);
  });
});
