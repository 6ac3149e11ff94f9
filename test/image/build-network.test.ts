/**
 * The network of Dockerfile RUN steps: loopback only by default (and with
 * `--network=none`), the host's with `RUN --network=host` or a build-wide
 * `network: 'host'`. A TCP server of this test on the host's 127.0.0.1 is what
 * a step can or cannot reach.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../support/caught.js';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();
const TAG = `cspec-test/build-network-${process.pid}`;
let context: string;
let server: Server;
let port: number;
let connections = 0;

/** A step that reads the server's greeting into /greeting (bash's /dev/tcp: no client to install). */
const FETCH = `bash -c 'exec 3<>/dev/tcp/127.0.0.1/$PORT && head -n1 <&3 > /greeting'`;

beforeAll(async () => {
  context = mkdtempSync(join(tmpdir(), 'cspec-build-network-'));
  server = createServer((socket) => {
    connections++;
    socket.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(context, { recursive: true, force: true });
  for (const image of await engine().images.list()) {
    if (image.reference.includes(TAG)) await engine().images.remove(image.reference);
  }
});

async function greeting(image: string): Promise<string> {
  const c = await engine().run({ image, command: ['cat', '/greeting'] });
  try {
    await c.wait();
    return await c.logText();
  } finally {
    await c.remove();
  }
}

function dockerfile(name: string, lines: readonly string[]): string {
  writeFileSync(join(context, name), [`FROM ${IMAGE}`, 'ARG PORT', ...lines, ''].join('\n'));
  return name;
}

describe('RUN networks', () => {
  it('RUN --network=host reaches a server on the host; a default step cannot, and fails on its line', async () => {
    const built = await engine().build({
      context,
      dockerfile: dockerfile('Dockerfile.host', [`RUN --network=host ${FETCH}`]),
      buildArgs: { PORT: String(port) },
      tag: `${TAG}:host`,
    });
    expect(built.steps.map((s) => [s.instruction.split(' ').slice(0, 2).join(' '), s.cached])).toEqual([
      ['RUN --network=host', false],
    ]);
    expect(await greeting(`${TAG}:host`)).toBe('hello from the host\n');
    expect(connections).toBe(1);

    for (const run of ['RUN', 'RUN --network=default', 'RUN --network=none']) {
      const error = await caught(
        engine().build({
          context,
          dockerfile: dockerfile('Dockerfile.default', [`${run} ${FETCH}`]),
          buildArgs: { PORT: String(port) },
          tag: `${TAG}:default`,
        }),
      );
      expect(error.message).toMatch(/Dockerfile.default:3: RUN .* exited with 1:\n.*Connection refused/);
    }
    expect(connections).toBe(1);
    expect((await engine().images.list()).some((i) => i.reference === `${TAG}:default`)).toBe(false);
    expect(readdirSync(join(resolveConfig().dataDir, 'build-tmp'))).toEqual([]);
  });

  it("network: 'host' is the default of the build's RUN steps; --network=none still isolates one", async () => {
    const before = connections;
    await engine().build({
      context,
      dockerfile: dockerfile('Dockerfile.wide', [`RUN ${FETCH}`]),
      buildArgs: { PORT: String(port) },
      network: 'host',
      tag: `${TAG}:wide`,
    });
    expect(await greeting(`${TAG}:wide`)).toBe('hello from the host\n');
    expect(connections).toBe(before + 1);

    const error = await caught(
      engine().build({
        context,
        dockerfile: dockerfile('Dockerfile.none', [`RUN --network=none ${FETCH}`]),
        buildArgs: { PORT: String(port) },
        network: 'host',
      }),
    );
    expect(error.message).toMatch(/Dockerfile.none:3: RUN bash .* exited with 1:\n.*Connection refused/);
    expect(connections).toBe(before + 1);
  });

  it('an unknown mode is refused: in the Dockerfile with its line, as a build option before anything runs', async () => {
    const inFile = await caught(
      engine().build({ context, dockerfile: dockerfile('Dockerfile.bad', ['RUN --network=bridge true']) }),
    );
    expect(inFile).toMatchObject({
      code: 'CSPEC_IMAGE_BUILD_FAILED',
      hint: 'use --network=default|none|host',
    });
    expect(inFile.message).toMatch(/Dockerfile.bad:3: RUN --network=bridge: unknown network mode "bridge"$/);
    const option = await caught(
      engine().build({
        context,
        dockerfile: dockerfile('Dockerfile.ok', ['RUN true']),
        network: 'bridge' as 'host',
      }),
    );
    expect(option).toMatchObject({ code: 'CSPEC_INVALID_SPEC', message: 'unknown build network "bridge"' });
  });

  it('a config step is cached by its expanded text: LABEL v=$V changes with --build-arg V', async () => {
    const file = dockerfile('Dockerfile.label', ['ARG V', 'LABEL v=$V']);
    const labelOf = async (v: string) => {
      const r = await engine().build({ context, dockerfile: file, buildArgs: { V: v } });
      return (await engine().images.inspect(`cspec-build/step@${r.manifestDigest}`)).runtimeConfig.Labels?.v;
    };
    expect(await labelOf('one')).toBe('one');
    expect(await labelOf('two')).toBe('two');
  });
});
