/**
 * `image save`: writes images as one tar that is both an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/...`) and a docker-archive
 * (`manifest.json` pointing at the same blobs), the way Docker 25+ saves, so
 * `docker load` (old and new), `cspec image load` and OCI tools all read it.
 * The blobs are copied as stored: layer digests and the image id stay the same.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import type { BlobStore } from '../content/blob-store.js';
import { CspecError } from '../errors.js';
import type { OciManifest } from './oci.js';
import { parseReference } from './reference.js';

export interface SavedImage {
  /** Normalized reference. */
  readonly reference: string;
  readonly manifestDigest: string;
}

/** The short name Docker shows: `postgres:16` for `docker.io/library/postgres:16`. */
export function familiarName(reference: string): string {
  const ref = parseReference(reference);
  let name = ref.domain === undefined ? ref.repository : `${ref.domain}/${ref.repository}`;
  if (ref.domain === 'docker.io') name = ref.repository.replace(/^library\//, '');
  return `${name}:${ref.tag ?? 'latest'}`;
}

const blobName = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;

export async function saveArchive(
  blobs: BlobStore,
  images: readonly SavedImage[],
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  const manifests = await Promise.all(
    images.map(async (image) => ({
      image,
      manifest: await blobs.readJson<OciManifest>(image.manifestDigest),
    })),
  );
  const digests = new Set<string>();
  for (const { image, manifest } of manifests) {
    digests.add(image.manifestDigest);
    digests.add(manifest.config.digest);
    for (const layer of manifest.layers) digests.add(layer.digest);
  }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: await Promise.all(
      manifests.map(async ({ image, manifest }) => ({
        // A pulled image keeps its manifest as the registry sent it (Docker's media type, maybe).
        mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
        digest: image.manifestDigest,
        size: (await stat(blobs.path(image.manifestDigest))).size,
        annotations: {
          'io.containerd.image.name': image.reference,
          'org.opencontainers.image.ref.name': parseReference(image.reference).tag ?? 'latest',
        },
      })),
    ),
  };
  const dockerManifest = manifests.map(({ image, manifest }) => ({
    Config: blobName(manifest.config.digest),
    RepoTags: [familiarName(image.reference)],
    Layers: manifest.layers.map((l) => blobName(l.digest)),
  }));

  const tmp = `${file}.cspec-${process.pid}.tmp`;
  const tar = pack();
  const writing = pipeline(
    tar as unknown as NodeJS.ReadableStream,
    createWriteStream(tmp),
    signal ? { signal } : {},
  );
  const addText = (name: string, text: string) =>
    new Promise<void>((resolve, reject) =>
      tar.entry({ name, mode: 0o644, mtime: new Date(0) }, text, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  try {
    await addText('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
    for (const digest of digests) {
      const path = blobs.path(digest);
      const { size } = await stat(path);
      const entry = tar.entry({ name: blobName(digest), size, mode: 0o644, mtime: new Date(0) });
      // Hashed on the way out: a damaged or truncated blob is never written into an archive.
      const hash = createHash('sha256');
      await pipeline(
        createReadStream(path),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        entry as unknown as NodeJS.WritableStream,
      );
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) {
        throw new CspecError(
          'CSPEC_IMAGE_CORRUPT',
          `cannot save: the stored blob ${path} is damaged (its content is ${actual}, not ${digest}); nothing was written to ${file}`,
          {
            hint: 'run: cspec image check --repair (it removes the damaged blob and the tags of the images that need it), then pull, load or build those images again',
          },
        );
      }
    }
    await addText('index.json', JSON.stringify(index));
    await addText('manifest.json', JSON.stringify(dockerManifest));
    tar.finalize();
    await writing;
    await rename(tmp, file);
  } catch (error) {
    tar.destroy();
    await writing.catch(() => {});
    await rm(tmp, { force: true });
    if (error instanceof CspecError) throw error;
    throw new CspecError('CSPEC_INVALID_SPEC', `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
