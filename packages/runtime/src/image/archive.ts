/**
 * Image archives: what `docker save` writes (docker-archive: `manifest.json`
 * with `Config`, `RepoTags` and `Layers`) and OCI image layouts in a tar
 * (`oci-layout`, `index.json`, `blobs/sha256/...`). The archive is unpacked
 * into a staging directory first (its entries may come in any order), then
 * read into a plan: for each image, its names, config and layer files.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, realpath, symlink } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { CspecError } from '../errors.js';
import { entryPath } from '../snapshot/unpack-layer.js';
import { hostArchitecture } from './oci.js';
import { parseReference } from './reference.js';

export interface ArchiveImage {
  /** Normalized references to tag (none for an untagged image). */
  readonly references: readonly string[];
  /** The config file, and its digest when the archive states it (OCI). */
  readonly configPath: string;
  readonly configDigest?: string | undefined;
  /** Layer files, lowest first, with their digests when the archive states them (OCI). */
  readonly layers: readonly { readonly path: string; readonly digest?: string | undefined }[];
}

function invalid(file: string, message: string): CspecError {
  return new CspecError('CSPEC_INVALID_ARCHIVE', `${file}: ${message}`, {
    hint: 'load archives made by `docker save`, `cspec image save` or tools that write OCI image layouts',
  });
}

/** Refuses an entry whose parent directories include a symbolic link (it could write outside). */
async function refuseLinkedParents(dir: string, rel: string, file: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const info = await lstat(join(dir, ...parts.slice(0, i))).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      throw invalid(
        file,
        `entry "${rel}" would be written through the symbolic link "${parts.slice(0, i).join('/')}"`,
      );
    }
  }
}

/** Unpacks the archive's entries (files, directories, links) into `dir`, refusing escapes. */
export async function extractArchive(file: string, dir: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true });
  const extractor = extract();
  const input = createReadStream(file);
  input.once('error', (error) => extractor.destroy(error));
  input.pipe(extractor as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extractor) {
      signal?.throwIfAborted();
      const rel = entryPath(entry.header.name, file);
      const target = join(dir, rel);
      await refuseLinkedParents(dir, rel, file);
      if (rel !== '' && entry.header.type !== 'directory')
        await mkdir(join(target, '..'), { recursive: true });
      if (entry.header.type === 'directory') await mkdir(target, { recursive: true });
      else if (entry.header.type === 'symlink') await symlink(entry.header.linkname ?? '', target);
      else if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        await pipeline(entry as unknown as AsyncIterable<Buffer>, createWriteStream(target, { flags: 'wx' }));
        continue;
      }
      entry.resume();
    }
  } catch (error) {
    input.destroy();
    if (error instanceof CspecError || signal?.aborted) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `cannot read the archive ${file}: ${(error as Error).message}`,
      );
    }
    throw invalid(file, `cannot read it as a tar archive: ${(error as Error).message}`);
  }
}

/** A path named by the archive, resolved inside it (links in docker-archives point at other layers). */
async function inside(dir: string, rel: string, file: string): Promise<string> {
  const path = join(dir, entryPath(rel, file));
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw invalid(file, `it names "${rel}", which it does not contain`);
  }
  const root = await realpath(dir);
  if (real !== root && !real.startsWith(`${root}${sep}`)) {
    throw invalid(file, `"${rel}" points outside the archive`);
  }
  return real;
}

async function readJson<T>(path: string, what: string, file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw invalid(file, `${what} is not valid JSON: ${(error as Error).message}`);
  }
}

interface DockerManifestEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

interface OciIndex {
  readonly manifests?: readonly {
    readonly mediaType?: string;
    readonly digest: string;
    readonly platform?: { readonly architecture?: string; readonly os?: string };
    readonly annotations?: Readonly<Record<string, string>>;
  }[];
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

function blobPath(digest: string, file: string): string {
  const match = /^(sha256):([a-f0-9]{64})$/.exec(digest);
  if (!match) throw invalid(file, `unsupported digest "${digest}" (only sha256)`);
  return posix.join('blobs', match[1]!, match[2]!);
}

function normalizedNames(names: readonly string[], file: string): string[] {
  return names.map((name) => {
    try {
      return parseReference(name).normalized;
    } catch (error) {
      throw invalid(file, `image name "${name}" is not a valid reference: ${(error as Error).message}`);
    }
  });
}

/** Reads the images an extracted archive holds. */
export async function planArchive(dir: string, file: string): Promise<ArchiveImage[]> {
  const has = async (rel: string) => (await realpath(join(dir, rel)).catch(() => undefined)) !== undefined;
  if (await has('manifest.json')) {
    const entries = await readJson<DockerManifestEntry[]>(join(dir, 'manifest.json'), 'manifest.json', file);
    if (!Array.isArray(entries) || entries.length === 0) throw invalid(file, 'manifest.json lists no image');
    const images: ArchiveImage[] = [];
    for (const entry of entries) {
      if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
        throw invalid(file, 'manifest.json entries need "Config" and "Layers"');
      }
      images.push({
        references: normalizedNames(entry.RepoTags ?? [], file),
        configPath: await inside(dir, entry.Config, file),
        layers: await Promise.all(entry.Layers.map(async (l) => ({ path: await inside(dir, l, file) }))),
      });
    }
    return images;
  }
  if (await has('index.json')) {
    const images: ArchiveImage[] = [];
    const visit = async (index: OciIndex, names: string[]) => {
      const candidates = (index.manifests ?? []).filter(
        (m) =>
          !m.platform ||
          ((m.platform.os ?? 'linux') === 'linux' &&
            (m.platform.architecture ?? hostArchitecture()) === hostArchitecture()),
      );
      for (const m of candidates) {
        const path = await inside(dir, blobPath(m.digest, file), file);
        // A full name (containerd's annotation, or a ref.name that is one); a bare tag names nothing.
        const refName = m.annotations?.['org.opencontainers.image.ref.name'];
        const ref =
          m.annotations?.['io.containerd.image.name'] ??
          (refName && (refName.includes('/') || refName.includes(':')) ? refName : undefined);
        const own = ref ? [...names, ref] : names;
        const doc = await readJson<
          OciIndex & { mediaType?: string; config?: { digest: string }; layers?: { digest: string }[] }
        >(path, `blob ${m.digest}`, file);
        if (INDEX_TYPES.has(m.mediaType ?? doc.mediaType ?? '') || (doc.manifests && !doc.config)) {
          await visit(doc, own);
          continue;
        }
        if (!doc.config || !Array.isArray(doc.layers))
          throw invalid(file, `blob ${m.digest} is not an image manifest`);
        // Attestations and other artifacts have no runnable layers: skip them.
        if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
        images.push({
          references: normalizedNames(own, file),
          configPath: await inside(dir, blobPath(doc.config.digest, file), file),
          configDigest: doc.config.digest,
          layers: await Promise.all(
            doc.layers.map(async (l) => ({
              path: await inside(dir, blobPath(l.digest, file), file),
              digest: l.digest,
            })),
          ),
        });
      }
    };
    await visit(await readJson<OciIndex>(join(dir, 'index.json'), 'index.json', file), []);
    if (images.length === 0) {
      throw invalid(file, `index.json has no image for linux/${hostArchitecture()}`);
    }
    return images;
  }
  throw invalid(file, 'it has neither manifest.json (docker save) nor index.json (OCI layout)');
}
