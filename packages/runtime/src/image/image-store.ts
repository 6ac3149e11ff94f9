/**
 * The image store: tags, content-addressed blobs and unpacked layers under
 * the data directory, filled by image sources on first use. Concurrent
 * processes asking for the same missing image build it once.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { createBlobStore } from '../content/blob-store.js';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import { chainIds, createLayerStore } from '../snapshot/layer-store.js';
import { acquireFileLock } from '../util/file-lock.js';
import { removeAbandonedTemps } from '../util/temp-path.js';
import type { OciImageConfig, OciManifest } from './oci.js';
import { type ImageReference, parseReference } from './reference.js';
import type { ImageSource } from './source.js';
import { createDebianBootstrapSource } from './sources/debian-bootstrap.js';
import { createTagStore } from './tag-store.js';
import type { ImageConfig, ImageService, ImageSummary, ResolvedImage, ResolveImageOptions } from './types.js';

const debug = createDebug('cspec:image');

export interface ImageStore extends ImageService {
  readonly dataDir: string;
}

export interface ImageStoreOptions {
  /** Sources tried before the built-in ones (tests use this to count builds). */
  readonly sources?: readonly ImageSource[];
}

function toImageConfig(config: OciImageConfig): ImageConfig {
  const c = config.config ?? {};
  const ports = Object.keys(c.ExposedPorts ?? {})
    .map((p) => Number.parseInt(p, 10))
    .filter((p) => Number.isInteger(p));
  return {
    env: c.Env ?? [],
    ...(c.Cmd ? { cmd: c.Cmd } : {}),
    ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.User ? { user: c.User } : {}),
    ...(ports.length ? { exposedPorts: ports } : {}),
    ...(c.Labels ? { labels: c.Labels } : {}),
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
  };
}

export function createImageStore(config: RuntimeConfig, options: ImageStoreOptions = {}): ImageStore {
  const root = config.dataDir;
  const tmpDir = join(root, 'tmp');
  const blobs = createBlobStore(join(root, 'blobs'), tmpDir);
  const layers = createLayerStore(join(root, 'layers'), tmpDir);
  const tags = createTagStore(join(root, 'repositories'));
  const sources = [...(options.sources ?? []), createDebianBootstrapSource({ mirror: config.debianMirror })];
  // Manifests and configs are immutable: cache them by digest.
  const documents = new Map<string, unknown>();
  const readDocument = async <T>(digest: string): Promise<T> => {
    if (!documents.has(digest)) documents.set(digest, await blobs.readJson<T>(digest));
    return documents.get(digest) as T;
  };

  /** The image if the tag and every layer are present; undefined otherwise. */
  const lookup = async (ref: ImageReference): Promise<ResolvedImage | undefined> => {
    const tag = await tags.get(ref.normalized);
    if (!tag) return undefined;
    try {
      const manifest = await readDocument<OciManifest>(tag.manifestDigest);
      const imageConfig = await readDocument<OciImageConfig>(manifest.config.digest);
      const dirs = await Promise.all(chainIds(imageConfig.rootfs.diff_ids).map((id) => layers.get(id)));
      if (dirs.some((d) => d === undefined)) return undefined;
      return {
        reference: ref.normalized,
        id: manifest.config.digest,
        config: toImageConfig(imageConfig),
        layerDirs: dirs as string[],
      };
    } catch (error) {
      debug('tag %s points at unreadable content: %O', ref.normalized, error);
      return undefined;
    }
  };

  let tempsSwept = false;

  const store: ImageStore = {
    dataDir: root,
    async resolve(reference: string, resolveOptions: ResolveImageOptions = {}) {
      const ref = parseReference(reference);
      const cached = await lookup(ref);
      if (cached) return cached;
      const source = sources.find((s) => s.provides(ref));
      if (!source) {
        throw new CspecError(
          'CSPEC_IMAGE_NOT_FOUND',
          `image "${ref.normalized}" is not in the cache and no source can provide it — cspec builds cspec/debian:bullseye, cspec/debian:bookworm and cspec/debian:trixie itself; registry pulls and archives are not supported yet`,
        );
      }
      source.check(ref);
      const locks = join(root, 'locks');
      await mkdir(locks, { recursive: true });
      const lockName = createHash('sha256').update(ref.normalized).digest('hex').slice(0, 32);
      const release = await acquireFileLock(join(locks, `${lockName}.lock`), {
        pollMs: 100,
        ...(resolveOptions.signal ? { signal: resolveOptions.signal } : {}),
      });
      try {
        // Someone else may have built it while this process waited.
        const built = await lookup(ref);
        if (built) return built;
        if (!tempsSwept) {
          tempsSwept = true;
          await removeAbandonedTemps(tmpDir);
        }
        const onProgress = resolveOptions.onProgress ?? (() => {});
        const { manifestDigest } = await source.build(ref, {
          blobs,
          layers,
          tmpDir,
          signal: resolveOptions.signal,
          onProgress,
        });
        await tags.set(ref.normalized, manifestDigest);
        const image = await lookup(ref);
        if (!image) throw new CspecError('CSPEC_INTERNAL', `image ${ref.normalized} was built but cannot be read back`);
        onProgress({ phase: 'done', message: `${ref.normalized} is ready` });
        return image;
      } finally {
        await release();
      }
    },
    async list(): Promise<ImageSummary[]> {
      const out: ImageSummary[] = [];
      for (const tag of await tags.list()) {
        try {
          const manifest = await readDocument<OciManifest>(tag.manifestDigest);
          const imageConfig = await readDocument<OciImageConfig>(manifest.config.digest);
          out.push({
            reference: tag.reference,
            id: manifest.config.digest,
            created: imageConfig.created ?? tag.taggedAt,
            sizeBytes: manifest.layers.reduce((sum, l) => sum + l.size, 0),
          });
        } catch (error) {
          debug('skipping unreadable tag %s: %O', tag.reference, error);
        }
      }
      return out.sort((a, b) => a.reference.localeCompare(b.reference));
    },
    async remove(reference: string) {
      const ref = parseReference(reference);
      // Blobs and layers stay until garbage collection (image prune), which is not built yet.
      if (!(await tags.remove(ref.normalized))) {
        throw new CspecError('CSPEC_IMAGE_NOT_FOUND', `no such image: ${ref.normalized}`, {
          hint: 'list images with: cspec image ls',
        });
      }
    },
  };
  return store;
}
