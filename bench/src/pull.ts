/**
 * Scenario `pull`: pull throughput from a registry on 127.0.0.1 (Debian's
 * docker-registry, started as the registry tests start it), cspec against
 * `skopeo copy docker://... dir:...`, interleaved in one run. The image is
 * cspec/postgres:15, pushed to the registry by cspec itself before the
 * timed rounds; both sides fetch the same manifest, config and layer blobs.
 *
 * Each round starts from nothing: cspec pulls into a fresh, empty data
 * directory (`engine.images.pull`, what `cspec image pull` does: download
 * the layers three at a time, verify their digests, unpack each into its
 * layer directory and tag the image), skopeo copies into a fresh directory
 * (download and verify, no unpacking). Making the engine and removing the
 * directories afterwards are not timed; `cspecPhasesMs` splits cspec's time
 * into download and unpack. MB/s is the manifest's blob bytes
 * (config and layers, as stored in the registry) over the time, MB = 10^6 bytes.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEngine, isCspecError } from '@cspec/runtime';
import { startRegistry } from '../../test/registry/registry-server.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const IMAGE = 'cspec/postgres:15';

export interface PullResult {
  readonly scenario: 'pull';
  readonly image: string;
  readonly layers: number;
  /** Config and layer blobs, as stored in the registry. */
  readonly bytes: number;
  readonly skopeo: string;
  readonly results: Record<string, Summary>;
  /** Medians. */
  readonly throughputMBps: { readonly cspec: number; readonly skopeo: number };
  /**
   * cspec's pull until its first layer starts unpacking (the downloads, verified), and from
   * there to the end (unpacking into layer directories, tagging), medians. With one layer the
   * split is exact; with more, downloads of later layers overlap the unpacking.
   */
  readonly cspecPhasesMs: { readonly download: number; readonly unpack: number };
  /** cspec / skopeo, median times. */
  readonly ratio: number;
  /** cspec / (skopeo, then tar -x of every layer), median times. */
  readonly ratioToSkopeoAndTar: number;
}

function skopeoCopy(remote: string, dest: string): Promise<unknown> {
  return run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${remote}`, `dir:${dest}`]);
}

export async function pull(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<PullResult> {
  const home = await createEngine();
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-pull-'));
  const registry = await startRegistry();
  try {
    options.log(`pull: pushing ${IMAGE} to ${registry.host}`);
    const remote = `${registry.host}/${IMAGE}`;
    // The cached image as it is (building it only if there is none): any cspec/postgres:15 has the size that matters.
    await home.images.push(remote, { source: IMAGE }).catch(async (error: unknown) => {
      if (!isCspecError(error, 'CSPEC_IMAGE_NOT_FOUND')) throw error;
      await home.images.resolve(IMAGE);
      await home.images.push(remote, { source: IMAGE });
    });
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${remote}`]);
    const manifest = JSON.parse(stdout) as { config: { size: number }; layers: { size: number }[] };
    const bytes = manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0);
    const skopeo = (await run('skopeo', ['--version'])).stdout.trim();
    let n = 0;
    /** How long `fill` takes with a new directory under `work`, which is removed afterwards. */
    const timedInFreshDir = async (fill: (dest: string) => Promise<unknown>): Promise<number> => {
      const dest = join(work, `skopeo-${n++}`);
      try {
        const start = performance.now();
        await fill(dest);
        return performance.now() - start;
      } finally {
        await rm(dest, { recursive: true, force: true });
      }
    };
    const phases = { download: [] as number[], unpack: [] as number[] };
    const samples = await interleave(
      {
        cspec: async () => {
          const dataDir = await mkdtemp(join(work, 'cspec-'));
          const engine = await createEngine({ dataDir });
          try {
            let unpacking: number | undefined;
            const start = performance.now();
            const report = await engine.images.pull(remote, {
              onProgress: (e) => {
                if (e.phase === 'unpack') unpacking ??= performance.now();
              },
            });
            const elapsed = performance.now() - start;
            phases.download.push((unpacking ?? start) - start);
            phases.unpack.push(unpacking === undefined ? 0 : performance.now() - unpacking);
            if (report.layersDownloaded !== manifest.layers.length) {
              throw new Error(
                `a fresh store downloaded ${report.layersDownloaded} of ${manifest.layers.length} layers`,
              );
            }
            return elapsed;
          } finally {
            await engine.close();
            await rm(dataDir, { recursive: true, force: true });
          }
        },
        'skopeo copy': () => timedInFreshDir((dest) => skopeoCopy(remote, dest)),
        // The floor for a pull that leaves layers ready to mount: the same download, then GNU tar
        // unpacking each layer into a directory of its own, bottom layer first (as cspec does).
        'skopeo copy + tar -x': () =>
          timedInFreshDir(async (dest) => {
            await skopeoCopy(remote, dest);
            const copied = JSON.parse(await readFile(join(dest, 'manifest.json'), 'utf8')) as {
              layers: { digest: string }[];
            };
            for (const [i, layer] of copied.layers.entries()) {
              const tree = join(dest, `layer-${i}`);
              await mkdir(tree);
              await run('tar', ['-xf', join(dest, layer.digest.replace(/^sha256:/, '')), '-C', tree]);
            }
          }),
      },
      options,
    );
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const mbps = (ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
    return {
      scenario: 'pull',
      image: IMAGE,
      layers: manifest.layers.length,
      bytes,
      skopeo,
      results,
      throughputMBps: {
        cspec: mbps(results.cspec!.medianMs),
        skopeo: mbps(results['skopeo copy']!.medianMs),
      },
      cspecPhasesMs: {
        download: summarize(phases.download.slice(options.warmup)).medianMs,
        unpack: summarize(phases.unpack.slice(options.warmup)).medianMs,
      },
      ratio: Math.round((results.cspec!.medianMs / results['skopeo copy']!.medianMs) * 1000) / 1000,
      ratioToSkopeoAndTar:
        Math.round((results.cspec!.medianMs / results['skopeo copy + tar -x']!.medianMs) * 1000) / 1000,
    };
  } finally {
    await registry.stop();
    await home.close();
    await rm(work, { recursive: true, force: true });
  }
}
