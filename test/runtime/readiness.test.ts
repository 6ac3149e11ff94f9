import { describe, expect, it } from 'vitest';
import { fixture, IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();

const http = (status: number, delay = 0) => ({
  image: IMAGE,
  command: ['perl', '/srv/http.pl', '8080', String(status), String(delay)],
  files: [{ target: '/srv/http.pl', source: fixture('servers/http-status.pl') }],
  ports: [8080],
});

describe('readiness strategies', () => {
  it('waits for a log line a number of times', async () => {
    const c = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', 'sleep 0.2; echo tick; sleep 0.2; echo tick; exec sleep 300'],
      wait: { type: 'log', pattern: '^tick$', flags: 'm', times: 2 },
    });
    expect((await c.logText()).match(/tick/g)).toHaveLength(2);
    await c.remove();
  });

  it('waits for listening ports, inside and from the host', async () => {
    const c = await engine().run({ ...http(200, 1), wait: { type: 'ports' } });
    // The server sleeps 1 s before listening: readiness must not pass early.
    expect(await c.logText()).toContain('http listening 8080');
    const response = await fetch(`http://127.0.0.1:${c.mappedPort(8080)}/`);
    expect(response.status).toBe(200);
    await c.remove();
  });

  it('waits for an HTTP status', async () => {
    const c = await engine().run({
      ...http(204),
      wait: { type: 'http', port: 8080, path: '/health', status: [204] },
    });
    expect((await fetch(`http://127.0.0.1:${c.mappedPort(8080)}/`)).status).toBe(204);
    await c.remove();
  });

  it('times out when the HTTP status never matches', async () => {
    await expect(
      engine().run({ ...http(500), wait: { type: 'http', port: 8080 }, startupTimeoutMs: 1500 }),
    ).rejects.toMatchObject({ code: 'CSPEC_CONTAINER_NOT_READY' });
  });

  it('waits for a command to succeed', async () => {
    const c = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', 'sleep 0.3; touch /tmp/ready; exec sleep 300'],
      wait: { type: 'command', command: ['test', '-e', '/tmp/ready'] },
    });
    expect((await c.exec(['test', '-e', '/tmp/ready'])).exitCode).toBe(0);
    await c.remove();
  });

  it('waits for a one-shot container to exit 0, and fails on another code', async () => {
    const ok = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', 'echo migrated'],
      wait: { type: 'exit' },
    });
    expect(await ok.info()).toMatchObject({ status: 'exited', exit: { exitCode: 0 } });
    await ok.remove();
    await expect(
      engine().run({ image: IMAGE, command: ['sh', '-c', 'exit 5'], wait: { type: 'exit' } }),
    ).rejects.toMatchObject({ code: 'CSPEC_CONTAINER_NOT_READY', message: expect.stringMatching(/code 5/) });
  });

  it('combines strategies with all-of', async () => {
    const c = await engine().run({
      ...http(200),
      wait: {
        type: 'all',
        of: [
          { type: 'ports', ports: [8080] },
          { type: 'log', pattern: 'http listening' },
        ],
      },
    });
    expect(await c.logText()).toContain('http listening');
    await c.remove();
  });

  it('checks readiness again after a restart, on the new output only', async () => {
    // Prints `ready` on the first boot only; the writable layer remembers the boot across restarts.
    const script =
      'if [ -e /booted ]; then echo "boot again"; else touch /booted; echo ready; fi; exec sleep 300';
    const c = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', script],
      wait: { type: 'log', pattern: 'ready' },
      startupTimeoutMs: 1500,
    });
    // The first boot's `ready` is still in the log, but it must not count for the restart.
    const error = await c.restart({ timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CSPEC_CONTAINER_NOT_READY' });
    expect(await c.logText()).toContain('boot again');
    await c.remove();

    const again = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', script],
      wait: { type: 'log', pattern: 'ready|boot again' },
    });
    await again.restart({ timeoutMs: 1000 });
    expect((await again.logText()).match(/ready|boot again/g)).toEqual(['ready', 'boot again']);
    await again.remove();
  });
});
