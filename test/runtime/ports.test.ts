import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ask, echoServer } from '../support/echo-server.js';
import { useEngine } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';

const engine = useEngine();

describe('published ports', () => {
  it('starts 8 containers in parallel and talks to each over TCP from the host', async () => {
    const containers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => engine().run(echoServer(`echo-${i}`))),
    );
    const ports = containers.map((c) => c.mappedPort(7000));
    expect(new Set(ports).size).toBe(8);
    const answers = await Promise.all(ports.map((p, i) => ask(p, `hello ${i}`)));
    expect(answers).toEqual(Array.from({ length: 8 }, (_, i) => `echo-${i}: hello ${i}`));
    await Promise.all(containers.map((c) => c.remove()));
    expectNoLeaks();
  });

  it('publishes on 127.0.0.1 only, and on a chosen host port', async () => {
    const probe = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const c = await engine().run({ ...echoServer('fixed'), ports: [{ container: 7000, host: probe }] });
    expect(c.mappedPort(7000)).toBe(probe);
    expect(c.host).toBe('127.0.0.1');
    expect(await ask(probe, 'x')).toBe('fixed: x');
    expect(() => c.mappedPort(1234)).toThrow(/port 1234 .* is not published/);
    await c.remove();
  });

  it('reports a host port already in use and leaves nothing behind', async () => {
    const a = await engine().run(echoServer('first'));
    await expect(
      engine().run({ ...echoServer('second'), ports: [{ container: 7000, host: a.mappedPort(7000) }] }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/already in use/) });
    await a.remove();
    expectNoLeaks();
  });
});
