import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, testEngine } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';

let engine: Engine;
let hostDir: string;

beforeAll(async () => {
  engine = await testEngine();
  hostDir = mkdtempSync(join(tmpdir(), 'cspec-run-'));
});

afterAll(async () => {
  await engine.close();
  rmSync(hostDir, { recursive: true, force: true });
  expectNoLeaks();
});

async function runToEnd(command: string[], extra: Partial<Parameters<Engine['run']>[0]> = {}) {
  const c = await engine.run({ image: IMAGE, command, ...extra });
  const exit = await c.wait();
  const log = await c.logText();
  await c.remove();
  return { exit, log };
}

describe('running a container', () => {
  it('runs a command in the image and captures its output', async () => {
    const { exit, log } = await runToEnd(['cat', '/etc/debian_version']);
    expect(exit).toEqual({ exitCode: 0, oomKilled: false });
    expect(log).toMatch(/^12\.\d+/);
  });

  it('passes the exit code through', async () => {
    const { exit } = await runToEnd(['sh', '-c', 'exit 3']);
    expect(exit.exitCode).toBe(3);
  });

  it('sets env, working dir, user and hostname', async () => {
    const { log } = await runToEnd(['sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g) $(hostname)"'], {
      env: { GREETING: 'hello' },
      workingDir: '/tmp',
      user: 'daemon',
      hostname: 'box-1',
    });
    expect(log.trim()).toBe('hello /tmp 1:1 box-1');
  });

  it('isolates processes: the container sees only its own', async () => {
    const { log } = await runToEnd(['sh', '-c', 'ls /proc | grep -E "^[0-9]+$" | wc -l; echo pid=$$']);
    const [count, pid] = log.trim().split('\n');
    // sh (pid 1), ls, grep, wc: nothing of the host.
    expect(Number(count)).toBeLessThanOrEqual(5);
    expect(pid).toBe('pid=1');
  });

  it('cannot see or write host files except through its mounts', async () => {
    writeFileSync(join(hostDir, 'marker'), 'from-host');
    const { log } = await runToEnd(
      [
        'sh',
        '-c',
        `test -e ${hostDir}/marker && echo visible || echo hidden; echo x > /etc/written-inside; cat /data/marker; echo out > /data/new || echo ro-denied`,
      ],
      { mounts: [{ type: 'bind', source: hostDir, target: '/data', readonly: true }] },
    );
    expect(log).toContain('hidden');
    expect(log).toContain('from-host');
    expect(log).toContain('ro-denied');
    expect(() => readFileSync('/etc/written-inside')).toThrow();
  });

  it('writes through a read-write bind mount and mounts tmpfs', async () => {
    const { log } = await runToEnd(['sh', '-c', 'echo inside > /data/rw; grep " /scratch " /proc/mounts'], {
      mounts: [
        { type: 'bind', source: hostDir, target: '/data' },
        { type: 'tmpfs', target: '/scratch', sizeBytes: 8 * 1024 * 1024 },
      ],
    });
    expect(readFileSync(join(hostDir, 'rw'), 'utf8')).toBe('inside\n');
    expect(log).toMatch(/tmpfs \/scratch tmpfs .*size=8192k/);
  });

  it('copies files and content in before start, with modes and owners', async () => {
    writeFileSync(join(hostDir, 'copied.txt'), 'copied');
    const { log } = await runToEnd(
      ['sh', '-c', 'cat /opt/app/a.txt /etc/copied.txt; stat -c "%a %u" /opt/app/a.txt; stat -c "%a" /etc'],
      {
        files: [
          { target: '/opt/app/a.txt', content: 'content-', mode: 0o600, uid: 1 },
          { target: '/etc/copied.txt', source: join(hostDir, 'copied.txt') },
        ],
      },
    );
    expect(log).toContain('content-copied');
    expect(log).toContain('600 1');
    expect(log).toContain('755');
  });

  it('keeps the writable layer across restarts and drops it on removal', async () => {
    const c = await engine.run({ image: IMAGE, command: ['sh', '-c', 'echo run >> /state; sleep 300'] });
    await c.restart({ timeoutMs: 100 });
    const out = await c.exec(['cat', '/state']);
    expect(out.stdout).toBe('run\nrun\n');
    await c.remove();
  });

  it('execs with exit code, stdout and stderr', async () => {
    const c = await engine.run({ image: IMAGE, command: ['sleep', '300'] });
    const result = await c.exec(['sh', '-c', 'echo out; echo err >&2; exit 4']);
    expect(result).toMatchObject({ exitCode: 4, stdout: 'out\n', stderr: 'err\n' });
    const asUser = await c.exec(['id', '-un'], { user: 'daemon', env: { X: '1' } });
    expect(asUser.stdout.trim()).toBe('daemon');
    const missing = await c.exec(['no-such-tool']);
    expect(missing.exitCode).toBe(127);
    const stopped = await c.stop({ timeoutMs: 200 });
    expect(stopped.exitCode).toBe(137);
    await c.remove();
  });

  it('stops gracefully on SIGTERM when the process handles it', async () => {
    const c = await engine.run({
      image: IMAGE,
      command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo up; while :; do sleep 0.05; done'],
      wait: { type: 'log', pattern: 'up' },
    });
    const exit = await c.stop({ timeoutMs: 5000 });
    expect(exit.exitCode).toBe(0);
    expect(await c.logText()).toContain('bye');
    await c.remove();
  });

  it('streams logs while following', async () => {
    const c = await engine.run({
      image: IMAGE,
      command: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.1; done'],
    });
    let text = '';
    for await (const chunk of c.logs({ follow: true })) text += chunk;
    expect(text).toBe('line1\nline2\nline3\n');
    await c.remove();
  });

  it('finds a container by name from another handle and lists it', async () => {
    const c = await engine.run({
      image: IMAGE,
      name: 'cspec-test-named',
      command: ['sleep', '300'],
      labels: { suite: 'run' },
    });
    const again = await engine.container('cspec-test-named');
    expect(again.id).toBe(c.id);
    const listed = await engine.list();
    expect(listed.find((i) => i.id === c.id)).toMatchObject({ status: 'running', labels: { suite: 'run' } });
    await expect(
      engine.run({ image: IMAGE, name: 'cspec-test-named', command: ['true'] }),
    ).rejects.toMatchObject({
      code: 'CSPEC_NAME_IN_USE',
    });
    await c.remove();
    expect((await engine.list({ all: true })).some((i) => i.id === c.id)).toBe(false);
  });

  it('a handle from another engine cannot restart it, and its wait and log follow end when it is removed', async () => {
    const c = await engine.run({ image: IMAGE, command: ['sh', '-c', 'echo hi; exec sleep 300'] });
    const other = await testEngine();
    try {
      const seen = await other.container(c.id);
      expect((await seen.info()).status).toBe('running');
      await expect(seen.restart()).rejects.toMatchObject({ code: 'CSPEC_INVALID_SPEC' });
      expect((await c.info()).status).toBe('running');

      const waited = seen.wait().then(
        (exit) => `exit ${exit.exitCode}`,
        (error: { code?: string }) => error.code,
      );
      const lines: string[] = [];
      const followed = (async () => {
        for await (const line of seen.logs({ follow: true })) lines.push(line);
      })();
      await c.remove();
      expect(['exit 137', 'CSPEC_CONTAINER_NOT_FOUND']).toContain(await waited);
      await followed;
      expect(lines.join('')).toContain('hi');
    } finally {
      await other.close();
    }
  });
});
