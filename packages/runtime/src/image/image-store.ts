/**
 * The image store: tags, content-addressed blobs and unpacked layers under
 * the data directory, filled by image sources on first use.
 *
 *   blobs/sha256/<hex>     manifests, configs, layer tars (content-addressed)
 *   layers/<16 hex>/fs     unpacked read-only layers, keyed by chain id
 *   repositories/*.json    tags: normalized reference -> manifest digest
 *   locks/                 one lock per reference being built
 *   tmp/                   work in progress; never trusted, swept when its process is gone
 *
 * Concurrent processes asking for the same missing image build it once: the
 * build runs under a per-reference file lock, and the tag is checked again
 * once the lock is held.
 *
 * What moves image content (pull, push, load, save, import, commit) loads its
 * modules on first use: the tar, registry and unpacking code is ~40% of the
 * runtime's import time, and a start from a cached image never needs it —
 * nor does every CLI command and test worker that imports the runtime.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { type BlobStore, createBlobStore } from '../content/blob-store.js';
import { createDebug } from '../debug.js';
import { CspecError, isCspecError } from '../errors.js';
import { parsePlatform } from '../registry/platform.js';
import { processUserNamespace } from '../rootless/process-namespace.js';
import { chainIds } from '../snapshot/chain-id.js';
import { createLayerStore, type LayerStore } from '../snapshot/layer-store.js';
import { removeAbandonedWrites } from '../util/atomic-file.js';
import { acquireFileLock } from '../util/file-lock.js';
import { isNoSpace, noSpaceError } from '../util/no-space.js';
import { removeAbandonedTemps } from '../util/temp-path.js';
import type { BuildOptions, BuildResult } from './build/builder.js';
import { checkStore } from './check-store.js';
import type { ParentImage } from './commit-image.js';
import type { SavedImage } from './export-image.js';
import { type OciImageConfig, type OciManifest, toImageConfig } from './oci.js';
import { pruneStore, treeSize } from './prune.js';
import { type ImageReference, parseReference } from './reference.js';
import { sharedSizes } from './shared-size.js';
import { type ImageSource, RECIPE_LABEL } from './source.js';
import { createDebianBootstrapSource, DEBIAN_REPOSITORY, DEBIAN_SUITES } from './sources/debian-bootstrap.js';
import { createNodeImageSource } from './sources/node-image.js';
import { createRegistrySource } from './sources/registry-pull.js';
import { createServiceImageSource, SERVICE_IMAGES } from './sources/service-images.js';
import { createTagStore } from './tag-store.js';
import type { ImageService, ImageSummary, ResolvedImage, ResolveImageOptions } from './types.js';

const debug = createDebug('cspec:image');

const REGISTRY_SOURCE = 'registry';

/** What prune leaves alone because another process may be about to tag it. */
const PRUNE_GRACE_MS = 10 * 60_000;

export interface ImageStore extends ImageService {
  readonly dataDir: string;
}

export interface ImageStoreOptions {
  /** Sources asked before the built-in ones (tests use this to count builds without debootstrap). */
  readonly sources?: readonly ImageSource[];
  /**
   * Runs a Dockerfile build in this store (the engine's `build`), for sources
   * whose recipes are Dockerfiles (the service images). @default none: those cannot be built
   */
  readonly buildDockerfile?: (options: BuildOptions) => Promise<BuildResult>;
}

interface Found {
  readonly image: ResolvedImage;
  readonly manifestDigest: string;
}

export function createImageStore(config: RuntimeConfig, options: ImageStoreOptions = {}): ImageStore {
  const root = config.dataDir;
  const tmpDir = join(root, 'tmp');
  const locksDir = join(root, 'locks');
  const blobs = createBlobStore(join(root, 'blobs'), tmpDir);
  const layers = createLayerStore(
    join(root, 'layers'),
    tmpDir,
    config.rootless ? { userNamespace: { open: processUserNamespace, nodePath: config.nodePath } } : {},
  );
  const tagsDir = join(root, 'repositories');
  const tags = createTagStore(tagsDir);
  const sources = [
    ...(options.sources ?? []),
    createDebianBootstrapSource({ mirror: config.debianMirror, rootless: config.rootless }),
    createServiceImageSource(),
    createNodeImageSource({ dataDir: config.dataDir }),
    // Last: whatever names a registry and no built-in source provides.
    createRegistrySource(config.registry),
  ];

  // Manifests and configs are immutable: cache them by digest.
  const documents = new Map<string, unknown>();
  const readDocument = async <T>(digest: string): Promise<T> => {
    if (!documents.has(digest)) documents.set(digest, await blobs.readJson<T>(digest));
    return documents.get(digest) as T;
  };
  const damagedDocument = (digest: string, what: string) =>
    new CspecError(
      'CSPEC_IMAGE_CORRUPT',
      `the stored ${what} ${blobs.path(digest)} is damaged: ${what === 'manifest' ? 'it names no config or layers' : 'it lists no layers (rootfs.diff_ids)'}`,
    );
  const readManifest = async (digest: string): Promise<OciManifest> => {
    const manifest = await readDocument<OciManifest>(digest);
    if (typeof manifest?.config?.digest !== 'string' || !Array.isArray(manifest.layers)) {
      throw damagedDocument(digest, 'manifest');
    }
    return manifest;
  };
  const readConfig = async (digest: string): Promise<OciImageConfig> => {
    const imageConfig = await readDocument<OciImageConfig>(digest);
    if (!Array.isArray(imageConfig?.rootfs?.diff_ids)) throw damagedDocument(digest, 'config');
    return imageConfig;
  };

  /** What a damaged image is reported as: what is wrong (naming the file), and the repair. */
  const damagedImage = (reference: string, error: unknown): CspecError =>
    new CspecError('CSPEC_IMAGE_CORRUPT', `image "${reference}" is damaged: ${(error as Error).message}`, {
      hint: `remove it and get it again: cspec image rm ${reference}, then pull, load or build it again (cspec image check --repair finds and repairs all damage; cspec image prune frees what is left)`,
      cause: error,
    });

  /**
   * The image's unpacked layers; those that are gone are unpacked again from
   * their stored blobs (never fetched from a source: the blob is the truth).
   */
  const layerDirsOf = async (manifest: OciManifest, imageConfig: OciImageConfig, reference: string) => {
    const diffIds = imageConfig.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    const dirs = await Promise.all(chains.map((id) => layers.get(id)));
    if (dirs.every((d) => d !== undefined)) return dirs as string[];
    if (manifest.layers.length !== diffIds.length) {
      throw new CspecError(
        'CSPEC_IMAGE_CORRUPT',
        `its manifest lists ${manifest.layers.length} layers but its config ${blobs.path(manifest.config.digest)} has ${diffIds.length}, and a layer is not unpacked`,
      );
    }
    debug('%s: unpacking missing layers again from their blobs', reference);
    const { restoreLayer } = await import('./restore-layer.js');
    const out: string[] = [];
    for (const [i, dir] of dirs.entries()) {
      out.push(
        dir ??
          (await restoreLayer(
            { blobs, layers, tmpDir },
            { blobDigest: manifest.layers[i]!.digest, diffId: diffIds[i]!, chainId: chains[i]! },
            out,
            `layer ${i + 1} of ${reference}`,
          )),
      );
    }
    return out;
  };

  /**
   * Blob and layer stores that remember what this operation adds, so a failed
   * import or load takes it back at once (not ten minutes later, by prune).
   */
  const undoable = () => {
    const newBlobs: string[] = [];
    const newLayers: string[] = [];
    const onCreated = (digest: string) => void newBlobs.push(digest);
    const tracked: { blobs: BlobStore; layers: LayerStore } = {
      blobs: {
        ...blobs,
        ingest: (source, o = {}) => blobs.ingest(source, { ...o, onCreated }),
        putJson: (value) => blobs.putJson(value, { onCreated }),
      },
      layers: {
        ...layers,
        async adoptDirectory(chainId, tree, extras) {
          const had = (await layers.get(chainId)) !== undefined;
          const dir = await layers.adoptDirectory(chainId, tree, extras);
          if (!had) newLayers.push(chainId);
          return dir;
        },
      },
    };
    const undo = async () => {
      for (const chainId of newLayers.reverse()) await layers.remove(chainId).catch(() => {});
      for (const digest of newBlobs) await blobs.delete(digest).catch(() => {});
    };
    return { ...tracked, undo };
  };

  /** A full disk as CSPEC_NO_SPACE naming the data directory; anything else as it is. */
  const spaceAware = async (error: unknown, what: string, neededBytes?: number): Promise<unknown> =>
    isNoSpace(error) ? noSpaceError(what, root, error, neededBytes) : error;
  const sizeOf = (file: string) =>
    stat(file).then(
      (s) => s.size,
      () => undefined,
    );

  // Whatever a dead process left in tmp/, or half-written beside a tag, is removed once, on first use.
  let swept: Promise<void> | undefined;
  const sweep = () => {
    swept ??= Promise.all([removeAbandonedTemps(tmpDir), removeAbandonedWrites(tagsDir)]).then(
      ([n, m]) => void (n + m && debug('removed %d abandoned temp entries', n + m)),
      (error: unknown) => debug('sweeping %s and %s failed: %O', tmpDir, tagsDir, error),
    );
    return swept;
  };

  /** The image if its manifest, config and every layer are present; undefined otherwise. No hashing of content. */
  const lookup = async (ref: ImageReference): Promise<Found | undefined> => {
    try {
      // A pinned reference is tagged with the image it was pulled as (its digest may be an index's).
      const tag = await tags.get(ref.normalized);
      const manifestDigest = tag?.manifestDigest ?? ref.digest;
      if (!manifestDigest) return undefined;
      // An untagged digest that is not here is simply not cached; a tag's content must be here.
      if (tag === undefined && !(await blobs.has(manifestDigest))) return undefined;
      const manifest = await readManifest(manifestDigest);
      const imageConfig = await readConfig(manifest.config.digest);
      const image: ResolvedImage = {
        reference: ref.normalized,
        id: manifest.config.digest,
        config: toImageConfig(imageConfig),
        layerDirs: await layerDirsOf(manifest, imageConfig, ref.normalized),
      };
      return { image, manifestDigest };
    } catch (error) {
      if (isCspecError(error, 'CSPEC_IMAGE_CORRUPT')) throw damagedImage(ref.normalized, error);
      throw error;
    }
  };

  /** The cached image, unless its source's recipe changed since it was built. */
  const lookupCurrent = async (ref: ImageReference): Promise<Found | undefined> => {
    const found = await lookup(ref);
    if (!found || ref.digest !== undefined) return found;
    const fingerprint = sources.find((s) => s.provides(ref))?.fingerprint?.(ref);
    if (fingerprint === undefined || found.image.config.labels?.[RECIPE_LABEL] === fingerprint) return found;
    debug('%s was built from an older recipe: rebuilding', ref.normalized);
    return undefined;
  };

  const notFound = (reference: string) =>
    new CspecError(
      'CSPEC_IMAGE_NOT_FOUND',
      `image "${reference}" is not in the cache and no source can provide it — cspec builds ${DEBIAN_REPOSITORY}:${DEBIAN_SUITES.join('|')}, ${Object.keys(SERVICE_IMAGES).join(', ')} and cspec/node:<version> itself; other images come from registries (cspec image pull) or archives (cspec image load / import)`,
      { hint: `use e.g. ${DEBIAN_REPOSITORY}:bookworm` },
    );

  const notCached = (reference: string) =>
    new CspecError('CSPEC_IMAGE_NOT_FOUND', `image "${reference}" is not in the cache`, {
      hint: 'list images with: npx cspec image ls',
    });

  /** The cross-process lock for building or pulling one reference. */
  const lockReference = async (ref: ImageReference, signal: AbortSignal | undefined) => {
    await mkdir(locksDir, { recursive: true });
    const lockName = createHash('sha256').update(ref.normalized).digest('hex').slice(0, 32);
    return acquireFileLock(join(locksDir, `${lockName}.lock`), {
      pollMs: 100,
      ...(signal ? { signal } : {}),
    });
  };

  const obtain = async (ref: ImageReference, input: string, opts: ResolveImageOptions): Promise<Found> => {
    const cached = await lookupCurrent(ref);
    if (cached) return cached;
    const source = sources.find(
      (s) =>
        s.provides(ref) &&
        (ref.digest === undefined || s.pinned === true) &&
        (opts.pull !== 'never' || s.name !== REGISTRY_SOURCE),
    );
    if (!source) throw notFound(input);
    source.check(ref);
    const onProgress = opts.onProgress ?? (() => {});

    const canonical = source.canonical?.(ref);
    if (canonical !== undefined && canonical !== ref.normalized) {
      const target = await obtain(parseReference(canonical), canonical, opts);
      await tags.set(ref.normalized, target.manifestDigest);
      return { image: { ...target.image, reference: ref.normalized }, manifestDigest: target.manifestDigest };
    }

    const release = await lockReference(ref, opts.signal);
    try {
      // Another process may have built it while this one waited.
      const built = await lookupCurrent(ref);
      if (built) return built;
      await sweep();
      debug('building %s with source %s', ref.normalized, source.name);
      let manifestDigest: string;
      try {
        ({ manifestDigest } = await source.build(ref, {
          blobs,
          layers,
          tmpDir,
          signal: opts.signal,
          onProgress,
          buildDockerfile: options.buildDockerfile,
          resolve: async (reference) => (await obtain(parseReference(reference), reference, opts)).image,
          parentImage: async (reference) => {
            const found = await obtain(parseReference(reference), reference, opts);
            const manifest = await readDocument<OciManifest>(found.manifestDigest);
            const config = await readDocument<OciImageConfig>(manifest.config.digest);
            return { manifest, config, layerDirs: found.image.layerDirs };
          },
        }));
      } catch (error) {
        if (isNoSpace(error)) throw await spaceAware(error, `building ${ref.normalized}`);
        if (isCspecError(error)) throw error;
        throw new CspecError(
          'CSPEC_IMAGE_BUILD_FAILED',
          `building ${ref.normalized} failed: ${String(error)}`,
          {
            cause: error,
          },
        );
      }
      await tags.set(ref.normalized, manifestDigest);
      const found = await lookup(ref);
      if (!found) {
        await tags.remove(ref.normalized);
        throw new CspecError(
          'CSPEC_INTERNAL',
          `image ${ref.normalized} was built by ${source.name} but its content cannot be read back`,
        );
      }
      onProgress({ phase: 'done', message: `${ref.normalized} is ready` });
      return found;
    } finally {
      await release();
    }
  };

  return {
    dataDir: root,

    async resolve(reference, resolveOptions = {}) {
      const ref = parseReference(reference);
      const cached = await lookupCurrent(ref);
      if (cached) {
        resolveOptions.onProgress?.({ phase: 'cached', message: `${ref.normalized} is in the cache` });
        return cached.image;
      }
      return (await obtain(ref, reference, resolveOptions)).image;
    },

    async pull(reference, pullOptions = {}) {
      const ref = parseReference(reference);
      if (ref.domain === undefined) {
        throw new CspecError(
          'CSPEC_INVALID_REFERENCE',
          `"${reference}" is in cspec's local namespace; it is built here, not pulled`,
          {
            hint: `run it (or: cspec image ls); to pull from a registry, name it, e.g. 127.0.0.1:5000/${ref.repository}:${ref.tag ?? 'latest'}`,
          },
        );
      }
      const platform = pullOptions.platform === undefined ? undefined : parsePlatform(pullOptions.platform);
      const release = await lockReference(ref, pullOptions.signal);
      try {
        await sweep();
        const { pullImage } = await import('../registry/pull.js');
        const work = undoable();
        const result = await pullImage(
          ref,
          {
            blobs: work.blobs,
            layers: work.layers,
            tmpDir,
            signal: pullOptions.signal,
            onProgress: pullOptions.onProgress ?? (() => {}),
          },
          { registry: config.registry, platform },
        ).catch(async (error: unknown) => {
          // What this pull stored goes at once (a retry downloads it again), not in ten minutes by prune.
          await work.undo();
          throw await spaceAware(error, `pulling ${ref.normalized}`);
        });
        await tags.set(ref.normalized, result.manifestDigest);
        if (!(await lookup(ref))) {
          throw new CspecError(
            'CSPEC_INTERNAL',
            `${ref.normalized} was pulled but its content cannot be read back`,
          );
        }
        pullOptions.onProgress?.({ phase: 'done', message: `${ref.normalized} is ready` });
        return { reference: ref.normalized, ...result };
      } finally {
        await release();
      }
    },

    async push(reference, pushOptions = {}) {
      const target = parseReference(reference);
      const sourceName = pushOptions.source ?? reference;
      const found = await lookup(parseReference(sourceName));
      if (!found) {
        throw new CspecError('CSPEC_IMAGE_NOT_FOUND', `cannot push "${sourceName}": it is not in the cache`, {
          hint: 'list images with: npx cspec image ls',
        });
      }
      const { pushImage } = await import('../registry/push.js');
      const result = await pushImage(target, found.manifestDigest, {
        blobs,
        signal: pushOptions.signal,
        onProgress: pushOptions.onProgress ?? (() => {}),
        registry: config.registry,
      });
      return { reference: target.normalized, ...result };
    },

    async list(): Promise<ImageSummary[]> {
      await sweep();
      const found: { reference: string; created: string; manifest: OciManifest }[] = [];
      const damaged: ImageSummary[] = [];
      const scanned = await tags.scan();
      for (const tag of scanned.records) {
        try {
          const manifest = await readManifest(tag.manifestDigest);
          const imageConfig = await readConfig(manifest.config.digest);
          found.push({ reference: tag.reference, created: imageConfig.created ?? tag.taggedAt, manifest });
        } catch (error) {
          damaged.push({
            reference: tag.reference,
            id: '',
            created: tag.taggedAt,
            sizeBytes: 0,
            sharedSizeBytes: 0,
            problem: (error as Error).message,
          });
        }
      }
      for (const tag of scanned.broken) {
        damaged.push({
          reference: tag.reference ?? tag.file,
          id: '',
          created: '',
          sizeBytes: 0,
          sharedSizeBytes: 0,
          problem: tag.error.message,
        });
      }
      const shared = sharedSizes(
        found.map((f) => ({ id: f.manifest.config.digest, layers: f.manifest.layers })),
      );
      return found
        .map(({ reference, created, manifest }) => ({
          reference,
          id: manifest.config.digest,
          created,
          sizeBytes: manifest.layers.reduce((sum, l) => sum + l.size, 0),
          sharedSizeBytes: shared.get(manifest.config.digest) ?? 0,
        }))
        .concat(damaged)
        .sort((a, b) => a.reference.localeCompare(b.reference));
    },

    async check(checkOptions = {}) {
      await sweep();
      try {
        return await checkStore({
          blobs,
          blobsDir: join(root, 'blobs'),
          layers,
          layersDir: join(root, 'layers'),
          tags,
          repair: checkOptions.repair === true,
          restoreLayers: (manifest, imageConfig, reference) => layerDirsOf(manifest, imageConfig, reference),
        });
      } finally {
        // Repairs remove blobs: nothing read before them is trusted after.
        documents.clear();
      }
    },

    async inspect(reference) {
      const ref = parseReference(reference);
      const manifestDigest = ref.digest ?? (await tags.get(ref.normalized))?.manifestDigest;
      if (!manifestDigest) throw notCached(reference);
      const manifest = await readDocument<OciManifest>(manifestDigest);
      const imageConfig = await readDocument<OciImageConfig>(manifest.config.digest);
      return {
        reference: ref.normalized,
        id: manifest.config.digest,
        manifestDigest,
        created: imageConfig.created,
        runtimeConfig: imageConfig.config ?? {},
        layers: manifest.layers.map((l, i) => ({
          digest: l.digest,
          size: l.size,
          diffId: imageConfig.rootfs.diff_ids[i] ?? l.digest,
        })),
        history: (imageConfig.history ?? []).map((h) => ({
          ...(h.created ? { created: h.created } : {}),
          ...(h.created_by ? { createdBy: h.created_by } : {}),
          ...(h.comment ? { comment: h.comment } : {}),
          emptyLayer: h.empty_layer === true,
        })),
      };
    },

    async load(file, loadOptions = {}) {
      await sweep();
      const { loadArchive } = await import('./import-image.js');
      const work = undoable();
      let images: Awaited<ReturnType<typeof loadArchive>>;
      try {
        images = await loadArchive({ ...loadOptions, blobs: work.blobs, layers: work.layers, tmpDir }, file);
      } catch (error) {
        await work.undo();
        // The archive is unpacked, stored as blobs and unpacked again as layers: about three times its size.
        const size = await sizeOf(file);
        throw await spaceAware(error, `loading ${file}`, size === undefined ? undefined : 3 * size);
      }
      for (const image of images) {
        for (const reference of image.references) await tags.set(reference, image.manifestDigest);
      }
      return images.map(({ id, references }) => ({ id, references }));
    },

    async save(references, file, saveOptions = {}) {
      if (references.length === 0)
        throw new CspecError('CSPEC_INVALID_SPEC', 'image save needs at least one image');
      const images: SavedImage[] = [];
      for (const reference of references) {
        const found = await lookup(parseReference(reference));
        if (!found) {
          throw new CspecError(
            'CSPEC_IMAGE_NOT_FOUND',
            `cannot save "${reference}": it is not in the cache`,
            {
              hint: 'list images with: npx cspec image ls',
            },
          );
        }
        images.push({ reference: found.image.reference, manifestDigest: found.manifestDigest });
      }
      const { saveArchive } = await import('./export-image.js');
      await saveArchive(blobs, images, file, saveOptions.signal);
    },

    async commit({ upper, parent, reference, changes }) {
      const target = parseReference(reference);
      const found = await lookup(parseReference(parent.reference));
      if (!found || found.image.id !== parent.id) {
        throw new CspecError(
          'CSPEC_IMAGE_NOT_FOUND',
          `cannot commit: the image the container was made from (${parent.reference}, ${parent.id.slice(7, 19)}) is no longer in the cache under that name`,
          { hint: 'tag or load that image again, then commit' },
        );
      }
      await sweep();
      const manifest = await readDocument<OciManifest>(found.manifestDigest);
      const config = await readDocument<OciImageConfig>(manifest.config.digest);
      const { commitUpper } = await import('./commit-image.js');
      const image = await commitUpper(
        { blobs, layers, tmpDir },
        { manifest, config, layerDirs: found.image.layerDirs },
        upper,
        changes,
      ).catch(async (error: unknown) => {
        throw await spaceAware(error, `committing ${target.normalized}`);
      });
      await tags.set(target.normalized, image.manifest.digest);
      return { id: image.id, references: [target.normalized] };
    },

    async derive({ parent, step }) {
      await sweep();
      let base: ParentImage | undefined;
      if (parent !== undefined) {
        const found = await lookup(parseReference(parent));
        if (!found) throw notCached(parent);
        const manifest = await readDocument<OciManifest>(found.manifestDigest);
        const config = await readDocument<OciImageConfig>(manifest.config.digest);
        base = { manifest, config, layerDirs: found.image.layerDirs };
      }
      const { deriveImage } = await import('./commit-image.js');
      const image = await deriveImage({ blobs, layers, tmpDir }, base, step).catch(async (error: unknown) => {
        throw await spaceAware(error, 'a build step');
      });
      return { id: image.id, manifestDigest: image.manifest.digest };
    },

    async tag(reference, manifestDigest) {
      const ref = parseReference(reference);
      if (ref.digest !== undefined) {
        throw new CspecError('CSPEC_INVALID_REFERENCE', `cannot tag "${reference}": a tag has no digest`, {
          hint: 'use NAME[:TAG], e.g. my/app:1',
        });
      }
      await readDocument<OciManifest>(manifestDigest);
      await tags.set(ref.normalized, manifestDigest);
      return ref.normalized;
    },

    async prune({ layerDirsInUse, graceMs = PRUNE_GRACE_MS }) {
      await sweep();
      return pruneStore({
        blobs,
        blobsDir: join(root, 'blobs'),
        layersDir: join(root, 'layers'),
        tags: await tags.list(),
        layerDirsInUse,
        graceMs,
      });
    },

    async usage() {
      const layerNames = await readdir(join(root, 'layers')).catch(() => [] as string[]);
      return {
        images: (await tags.list()).length,
        blobsBytes: await treeSize(join(root, 'blobs')),
        layersBytes: await treeSize(join(root, 'layers')),
        layers: layerNames.length,
      };
    },

    async importRootfs(file, reference, importOptions = {}) {
      const ref = parseReference(reference);
      await sweep();
      const { importRootfs } = await import('./import-image.js');
      const work = undoable();
      let image: Awaited<ReturnType<typeof importRootfs>>;
      try {
        image = await importRootfs(
          { ...importOptions, blobs: work.blobs, layers: work.layers, tmpDir },
          file,
          importOptions,
        );
      } catch (error) {
        await work.undo();
        // Stored as a blob and unpacked: about twice the file's size.
        const size = await sizeOf(file);
        throw await spaceAware(error, `importing ${file}`, size === undefined ? undefined : 2 * size);
      }
      await tags.set(ref.normalized, image.manifestDigest);
      return { id: image.id, references: [ref.normalized] };
    },

    async remove(reference) {
      const ref = parseReference(reference);
      // Only the tag goes. Blobs and layer directories stay until garbage
      // collection of unreferenced content (image prune), a later issue;
      // containers running from the image keep their lower dirs meanwhile.
      if (!(await tags.remove(ref.normalized))) throw notCached(reference);
    },
  };
}
