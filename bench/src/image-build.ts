/**
 * Scenario `image-build`: how long the built-in service images take to build.
 * Cold: a fresh data directory that holds only the cspec/debian base (loaded
 * from an archive of the home cache, so no debootstrap runs), then the first
 * `images.resolve` of the service image — its Dockerfile build, apt downloads
 * from the Debian mirror included. Warm: the tag removed and the image
 * resolved again, so the build runs with every step in the cache.
 * Also records what each image adds on disk beside the base layer it shares.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine, resolveConfig } from '@cspec/runtime';
import { treeSize } from '../../packages/runtime/dist/image/prune.js';
import { type Summary, summarize } from './stats.js';

const IMAGES = [
  ['cspec/postgres:15', 'bookworm'],
  ['cspec/postgres:17', 'trixie'],
  ['cspec/mariadb:10.11', 'bookworm'],
  ['cspec/mariadb:11', 'trixie'],
  ['cspec/redis:7', 'bookworm'],
] as const;

export interface ImageBuildResult {
  readonly scenario: 'image-build';
  /** `<image> cold` (one build each) and `<image> warm` (every step cached). */
  readonly results: Record<string, Summary>;
  readonly disk: Record<
    string,
    {
      readonly layers: number;
      /** The cspec/debian layer, shared with the base image and the other service images. */
      readonly baseLayerBytes: number;
      readonly baseBlobBytes: number;
      /** The layers the image adds (package install, entrypoint). */
      readonly ownLayerBytes: number;
      readonly ownBlobBytes: number;
    }
  >;
  /**
   * What a cache with both bases and every service image keeps on disk less
   * than with one private copy of the base in each service image (a one-layer
   * image, as the images were before they were built from Dockerfiles).
   */
  readonly sharedBytesSaved: number;
}

export async function imageBuild(options: {
  rounds: number;
  log: (line: string) => void;
}): Promise<ImageBuildResult> {
  const scratch = await mkdtemp(join(resolveConfig().dataDir, '..', 'cspec-bench-build-'));
  const results: Record<string, Summary> = {};
  const disk: Record<string, ImageBuildResult['disk'][string]> = {};
  try {
    const archive = join(scratch, 'bases.tar');
    {
      await using home = await createEngine();
      const bases = [...new Set(IMAGES.map(([, suite]) => `cspec/debian:${suite}`))];
      for (const base of bases) await home.images.resolve(base);
      await home.images.save(bases, archive);
    }
    for (const [reference, suite] of IMAGES) {
      const dataDir = join(scratch, reference.replace(/\W/g, '-'));
      {
        await using engine = await createEngine({ dataDir });
        await engine.images.load(archive);
        options.log(`image-build: ${reference} cold (from cspec/debian:${suite})`);
        let started = performance.now();
        const image = await engine.images.resolve(reference);
        results[`${reference} cold`] = summarize([performance.now() - started]);
        const warm: number[] = [];
        for (let i = 0; i < options.rounds; i++) {
          await engine.images.remove(reference);
          started = performance.now();
          const again = await engine.images.resolve(reference);
          warm.push(performance.now() - started);
          if (again.id !== image.id)
            throw new Error(`${reference}: a rebuild with every step cached made another image`);
        }
        results[`${reference} warm`] = summarize(warm);
        const details = await engine.images.inspect(reference);
        const [base, ...own] = image.layerDirs;
        const ownDirs = await Promise.all(own.map((d) => treeSize(d)));
        disk[reference] = {
          layers: image.layerDirs.length,
          baseLayerBytes: await treeSize(base!),
          baseBlobBytes: details.layers[0]!.size,
          ownLayerBytes: ownDirs.reduce((a, b) => a + b, 0),
          ownBlobBytes: details.layers.slice(1).reduce((a, l) => a + l.size, 0),
        };
        options.log(
          `image-build: ${reference} cold ${results[`${reference} cold`]!.medianMs} ms, warm ${results[`${reference} warm`]!.medianMs} ms`,
        );
      }
      await rm(dataDir, { recursive: true, force: true });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const sharedBytesSaved = Object.values(disk).reduce(
    (sum, d) => sum + d.baseLayerBytes + d.baseBlobBytes,
    0,
  );
  return { scenario: 'image-build', results, disk, sharedBytesSaved };
}
