import { closeDefaultEngine, type Engine, getDefaultEngine } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer } from '../../packages/runtime/src/compat/generic-container.js';
import { Wait } from '../../packages/runtime/src/compat/wait.js';
import { fixture, IMAGE, testEngine } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(async () => {
  await engine.close();
  await closeDefaultEngine();
  expectNoLeaks();
});

/** Asserts that none of `ids` is still known to `on`, running or not. */
async function expectGone(on: Engine, ids: readonly string[]): Promise<void> {
  const left = (await on.list({ all: true })).map((c) => c.id).filter((id) => ids.includes(id));
  expect(left).toEqual([]);
}

describe('testcontainers-style API on the native engine', () => {
  it('runs a testcontainers snippet unchanged (default engine, await using)', async () => {
    let id = '';
    {
      await using container = await new GenericContainer(IMAGE)
        .withCommand(['sh', '-c', 'echo ready; exec sleep 300'])
        .withWaitStrategy(Wait.forLogMessage('ready'))
        .start();
      id = container.getId();
      expect(container.getHost()).toBe('127.0.0.1');
      const result = await container.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      expect(result.output).toContain('out\n');
      const viaShell = await container.exec('echo "hello  world" | tr a-z A-Z');
      expect(viaShell).toMatchObject({ exitCode: 0, stdout: 'HELLO  WORLD\n' });
    }
    expect(id).not.toBe('');
    await expectGone(await getDefaultEngine(), [id]);
  });

  it('publishes a port, copies files and content in, and waits for HTTP', async () => {
    const started = await new GenericContainer(IMAGE, { engine })
      .withCopyFilesToContainer([{ source: fixture('servers/http-status.pl'), target: '/srv/http.pl' }])
      .withCopyContentToContainer([
        { content: 'from-content', target: '/etc/greeting' },
        { content: Buffer.from('from-buffer'), target: '/etc/buffer', mode: 0o600 },
      ])
      .withEnvironment({ GREETING: 'hi' })
      .withTmpFs({ '/scratch': 'rw,nosuid,size=8m,mode=750' })
      .withExposedPorts(8080)
      .withCommand(['perl', '/srv/http.pl', '8080', '204'])
      .withWaitStrategy(Wait.forHttp('/', 8080).forStatusCode(204).withStartupTimeout(30_000))
      .start();
    try {
      const response = await fetch(`http://${started.getHost()}:${started.getMappedPort(8080)}/`);
      expect(response.status).toBe(204);
      expect(started.getFirstMappedPort()).toBe(started.getMappedPort(8080));
      const inside = await started.exec([
        'sh',
        '-c',
        'echo "$GREETING $(cat /etc/greeting) $(cat /etc/buffer) $(stat -c %a /etc/buffer) $(stat -c %a /scratch)"; grep " /scratch " /proc/mounts',
      ]);
      expect(inside.stdout).toContain('hi from-content from-buffer 600 750\n');
      expect(inside.stdout).toMatch(/tmpfs \/scratch tmpfs .*size=8192k/);
    } finally {
      await started.stop({ timeout: 200 });
    }
    await expectGone(engine, [started.getId()]);
  });

  it('follows logs as a stream, restarts, and stop() removes by default', async () => {
    const started = await new GenericContainer(IMAGE, { engine })
      .withCommand(['sh', '-c', 'echo boot; i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.05; done'])
      .withWaitStrategy(Wait.forLogMessage(/^boot$/m))
      .start();
    const stream = await started.logs();
    const followed = await new Promise<string>((resolve, reject) => {
      let text = '';
      stream.on('error', reject);
      stream.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('tick3\n')) resolve(text);
      });
    });
    stream.destroy();
    expect(followed).toMatch(/^boot\ntick1\ntick2\ntick3\n/);

    await started.restart({ timeout: 100 });
    expect((await started.container.info()).status).toBe('running');
    expect((await started.exec(['true'])).exitCode).toBe(0);

    const stopped = await started.stop({ timeout: 100 });
    expect(stopped.getId()).toBe(started.getId());
    expect(stopped.exitStatus.exitCode).toBe(137);
    await expectGone(engine, [started.getId()]);
  });

  it('waits for a one-shot container and for a health-check command', async () => {
    const oneShot = await new GenericContainer(IMAGE, { engine })
      .withCommand(['sh', '-c', 'echo done'])
      .withWaitStrategy(Wait.forOneShotStartup())
      .start();
    expect((await oneShot.container.info()).status).toBe('exited');
    await oneShot.stop();

    const healthy = await new GenericContainer(IMAGE, { engine })
      .withCommand(['sh', '-c', 'sleep 0.3; touch /tmp/ok; exec sleep 300'])
      .withWaitStrategy(Wait.forHealthCheck(['test', '-f', '/tmp/ok']))
      .start();
    expect((await healthy.exec(['test', '-f', '/tmp/ok'])).exitCode).toBe(0);
    await healthy.stop({ timeout: 100 });
    await expectGone(engine, [oneShot.getId(), healthy.getId()]);
  });

  it('fails to start with the log tail when readiness times out, and leaves nothing', async () => {
    const before = new Set((await engine.list({ all: true })).map((c) => c.id));
    await expect(
      new GenericContainer(IMAGE, { engine })
        .withCommand(['sh', '-c', 'echo not-yet; exec sleep 300'])
        .withWaitStrategy(Wait.forLogMessage('never printed').withStartupTimeout(1000))
        .start(),
    ).rejects.toThrow(/not-yet/);
    const after = (await engine.list({ all: true })).filter((c) => !before.has(c.id));
    expect(after).toEqual([]);
  });
});
