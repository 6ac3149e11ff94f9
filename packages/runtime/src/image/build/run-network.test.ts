/**
 * Which network each RUN step asks its host for: the step's --network flag,
 * else the build's `network` option, else loopback only. A fake build host
 * records the requests (the real network is tested in test/image/build-network.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImageService } from '../types.js';
import { type BuildHost, type BuildOptions, buildDockerfile } from './builder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function networksOf(
  lines: readonly string[],
  options: Partial<BuildOptions> = {},
  cache: Map<string, string> = new Map(),
): Promise<string[]> {
  const context = mkdtempSync(join(tmpdir(), 'cspec-run-network-'));
  dirs.push(context);
  writeFileSync(join(context, 'Dockerfile'), ['FROM base:1', ...lines, ''].join('\n'));
  const asked: string[] = [];
  let n = 0;
  const images = {
    resolve: async () => ({ reference: 'base:1', id: 'sha256:id', config: {}, layerDirs: [] }),
    inspect: async () => ({ id: 'sha256:id', manifestDigest: `sha256:m${n}`, runtimeConfig: {} }),
    derive: async () => ({ id: 'sha256:id', manifestDigest: `sha256:m${++n}` }),
    tag: async (reference: string) => reference,
  } as unknown as ImageService;
  const host: BuildHost = {
    images,
    cache: { get: async (key) => cache.get(key), set: async (key, value) => void cache.set(key, value) },
    tmpDir: join(context, 'tmp'),
    async runStep(input) {
      asked.push(input.network);
      return { exitCode: 0, output: '', commit: async () => `sha256:m${++n}`, remove: async () => {} };
    },
  };
  await buildDockerfile(host, { context, ...options });
  return asked;
}

describe('RUN step networks', () => {
  const lines = ['RUN a', 'RUN --network=default b', 'RUN --network=none c', 'RUN --network=host d'];

  it('loopback only unless a step says host', async () => {
    expect(await networksOf(lines)).toEqual(['none', 'none', 'none', 'host']);
  });

  it("network: 'host' for the build: every step but one with --network=none", async () => {
    expect(await networksOf(lines, { network: 'host' })).toEqual(['host', 'host', 'none', 'host']);
    expect(await networksOf(lines, { network: 'none' })).toEqual(['none', 'none', 'none', 'host']);
  });

  it('a step built on the host network is not reused by a build without it, nor the other way round', async () => {
    const cache = new Map<string, string>();
    expect(await networksOf(['RUN a'], { network: 'none' }, cache)).toEqual(['none']);
    expect(await networksOf(['RUN a'], { network: 'host' }, cache)).toEqual(['host']);
    // Both are cached now: a rebuild of either runs nothing.
    expect(await networksOf(['RUN a'], { network: 'host' }, cache)).toEqual([]);
    expect(await networksOf(['RUN a'], {}, cache)).toEqual([]);
  });
});
