/**
 * Built-in service images (`cspec/postgres:15|17`, `cspec/mariadb:10.11|11`,
 * `cspec/redis:7`), built on first use from the Dockerfiles in this package's
 * `images/` directory: Debian's own packages on top of `cspec/debian:<suite>`.
 * Their entrypoints follow the official Docker Hub images' conventions
 * (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB; MARIADB_*; redis
 * arguments), so code written for those images works unchanged.
 *
 * The build is the engine's Dockerfile builder: its steps are cached like any
 * other build's, and the image shares the cspec/debian layer on disk.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CspecError } from '../../errors.js';
import type { ImageReference } from '../reference.js';
import type { ImageSource } from '../source.js';

/** packages/runtime/images, from src/image/sources (sources) and dist/image/sources (built) alike. */
export const SERVICE_IMAGES_DIR = fileURLToPath(new URL('../../../images/', import.meta.url));

export interface ServiceImage {
  /** The build context: a directory of SERVICE_IMAGES_DIR with a Dockerfile. */
  readonly dir: string;
  readonly buildArgs: Readonly<Record<string, string>>;
}

export const SERVICE_IMAGES: Readonly<Record<string, ServiceImage>> = {
  'cspec/postgres:15': { dir: 'postgres', buildArgs: { SUITE: 'bookworm', PG_MAJOR: '15' } },
  'cspec/postgres:17': { dir: 'postgres', buildArgs: { SUITE: 'trixie', PG_MAJOR: '17' } },
  'cspec/mariadb:10.11': { dir: 'mariadb', buildArgs: { SUITE: 'bookworm' } },
  'cspec/mariadb:11': { dir: 'mariadb', buildArgs: { SUITE: 'trixie' } },
  'cspec/redis:7': { dir: 'redis', buildArgs: { SUITE: 'bookworm' } },
};

/** Relative paths of the files under `dir`, sorted. */
function filesOf(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? filesOf(dir, join(rel, e.name)) : [join(rel, e.name)]));
}

/**
 * A digest of the build context (every file's path, mode and content) and the
 * build arguments: it changes whenever the recipe does.
 */
export function recipeFingerprint(dir: string, buildArgs: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const rel of filesOf(dir)) {
    const full = join(dir, rel);
    const content = readFileSync(full);
    hash.update(`${rel}\0${(statSync(full).mode & 0o777).toString(8)}\0${content.length}\0`).update(content);
  }
  for (const [k, v] of Object.entries(buildArgs).sort()) hash.update(`${k}=${v}\0`);
  return hash.digest('hex').slice(0, 16);
}

export function createServiceImageSource(imagesDir = SERVICE_IMAGES_DIR): ImageSource {
  const fingerprints = new Map<string, string>();
  const fingerprintOf = (ref: ImageReference): string => {
    const known = fingerprints.get(ref.normalized);
    if (known) return known;
    const image = SERVICE_IMAGES[ref.normalized]!;
    let fingerprint: string;
    try {
      fingerprint = recipeFingerprint(join(imagesDir, image.dir), image.buildArgs);
    } catch (error) {
      throw new CspecError(
        'CSPEC_INTERNAL',
        `the recipe of ${ref.normalized} cannot be read from ${join(imagesDir, image.dir)}: ${(error as Error).message}`,
        { cause: error, hint: 'reinstall @cspec/runtime: its images/ directory is incomplete' },
      );
    }
    fingerprints.set(ref.normalized, fingerprint);
    return fingerprint;
  };
  return {
    name: 'service-images',
    provides: (ref) => ref.domain === undefined && SERVICE_IMAGES[ref.normalized] !== undefined,
    check: () => {},
    fingerprint: fingerprintOf,
    async build(ref, ctx) {
      const image = SERVICE_IMAGES[ref.normalized]!;
      if (!ctx.buildDockerfile) {
        throw new CspecError(
          'CSPEC_IMAGE_BUILD_FAILED',
          `${ref.normalized} is built from a Dockerfile, and this image store has no engine to run its steps`,
          { hint: 'resolve it through an engine: (await createEngine()).images.resolve(...)' },
        );
      }
      const context = join(imagesDir, image.dir);
      let total = 0;
      const result = await ctx.buildDockerfile({
        context,
        // The last instructions of each Dockerfile label the image with it.
        buildArgs: { ...image.buildArgs, CSPEC_RECIPE: fingerprintOf(ref) },
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onProgress: (event) => {
          if (event.type === 'step') {
            total = event.total;
            ctx.onProgress({
              phase: 'build',
              message: `${ref.normalized}: step ${event.index}/${event.total} ${event.instruction.split('\n')[0]}`,
            });
          } else if (event.type === 'cached') {
            ctx.onProgress({
              phase: 'build',
              message: `${ref.normalized}: step ${event.index}/${total} cached`,
            });
          }
        },
      });
      return { manifestDigest: result.manifestDigest };
    },
  };
}
