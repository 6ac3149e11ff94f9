/**
 * The startup deadline counts from the moment the image is in the store:
 * building or pulling it first (a first build of a service image takes
 * minutes, longer rootless) does not fail a start whose deadline covers the
 * start and readiness. Here the image comes from a registry behind a proxy
 * that delays every answer, so the pull alone takes longer than the deadline.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import { type RegistryServer, startRegistry } from '../registry/registry-server.js';
import { type TarEntry, tarOf } from '../support/archives.js';
import { useEngine } from '../support/engine.js';

const DELAY_MS = 400;

/** `/bin/true` and the libraries it loads, as a root filesystem. */
function trueRootfs(): TarEntry[] {
  const libs = execFileSync('ldd', ['/bin/true'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+)/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
  const files = ['/bin/true', ...libs];
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [
    ...[...dirs].sort().map((d) => ({ name: `${d}/`, type: 'directory' as const, mode: 0o755 })),
    ...files.map((f) => ({ name: f.slice(1), content: readFileSync(realpathSync(f)), mode: 0o755 })),
  ];
}

describe('the startup deadline', () => {
  const engine = useEngine();
  let registry: RegistryServer;
  let proxy: Server;
  let work: string;
  let reference: string;
  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'cspec-deadline-'));
    const file = join(work, 'rootfs.tar');
    await writeFile(file, await tarOf(trueRootfs()));
    // Every answer of the registry, a few seconds in all, arrives DELAY_MS late.
    proxy = createServer((req, res) => {
      setTimeout(() => {
        const [host, port] = registry.host.split(':');
        const upstream = request(
          { host, port: Number(port), path: req.url, method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        req.pipe(upstream);
      }, DELAY_MS);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const slow = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    reference = `${slow}/deadline/true:1`;
    const source = createImageStore(resolveConfig({ dataDir: join(work, 'source') }));
    await source.importRootfs(file, `${registry.host}/deadline/true:1`);
    await source.push(`${registry.host}/deadline/true:1`);
  });
  afterAll(async () => {
    await engine()
      .images.remove(reference)
      .catch(() => {});
    await new Promise((resolve) => proxy?.close(resolve));
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('starts from the time the image is in the store: a slow pull does not use it up', async () => {
    const t0 = performance.now();
    const c = await engine().run({ image: reference, command: ['/bin/true'], startupTimeoutMs: 500 });
    const took = performance.now() - t0;
    try {
      expect(await c.wait()).toMatchObject({ exitCode: 0 });
      // The pull alone outlasted the 500 ms deadline: the manifest's answer comes before the config's
      // and the layer's (those two may come side by side), each DELAY_MS late.
      expect(took).toBeGreaterThan(2 * DELAY_MS);
    } finally {
      await c.remove();
    }
  });
});
