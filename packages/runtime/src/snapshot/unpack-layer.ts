/**
 * Unpacks one image layer (a tar, plain or gzip-compressed) into an empty
 * directory in the form overlayfs reads as a lower layer:
 *
 * - a whiteout `.wh.NAME` becomes a character device 0/0 named NAME;
 * - an opaque marker `.wh..wh..opq` becomes the xattr `trusted.overlay.opaque=y`
 *   on its directory (and is listed in the layer's `opaque` file beside `fs/`,
 *   which is how `LayeredRoot` sees it: Node cannot read xattrs);
 * - hard links are links inside the layer; a link to a file of a lower layer
 *   copies that file up first, so the merged view has both names;
 * - owners, modes (setuid and friends included), mtimes and xattrs are kept;
 *   device nodes and fifos are created as such (root only).
 *
 * Entries that would land outside the directory — a `..` component, or a
 * path through a symbolic link — are refused. The result is the layer's diff
 * id: the sha256 of the uncompressed tar.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { CspecError } from '../errors.js';
import { captureOutput } from '../util/capture-output.js';
import { createZstdDecoder, detectCompression } from './compression.js';
import { createLayeredRoot } from './layered-root.js';

export interface UnpackOptions {
  /** The layers below this one, TOP FIRST: where hard links to earlier files are found. */
  readonly lowerDirs?: readonly string[];
  readonly signal?: AbortSignal;
  /** For error messages, e.g. `layer 3 of docker.io/library/postgres:16`. */
  readonly label?: string;
}

export interface UnpackResult {
  /** `sha256:` of the uncompressed tar. */
  readonly diffId: string;
  /** Directories (inside the layer) that hide what lower layers have there. */
  readonly opaqueDirs: readonly string[];
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const XATTR_PREFIX = 'SCHILY.xattr.';

interface Metadata {
  readonly path: string;
  readonly header: Header;
}

function invalid(label: string, message: string): CspecError {
  return new CspecError('CSPEC_INVALID_ARCHIVE', `${label}: ${message}`, {
    hint: 'the archive is damaged or was not made for a container image; rebuild or re-export it',
  });
}

/** The entry's path inside the layer (`etc/passwd`), '' for the root; refuses escapes. */
export function entryPath(name: string, label: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw invalid(label, `entry "${name}" points outside the image (a ".." component)`);
  return parts.join('/');
}

/** Sniffs gzip and zstd by their magic bytes; anything else is taken as a plain tar. */
async function decompressed(input: Readable, label: string): Promise<Readable> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await chunks.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  async function* all() {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  const stream = Readable.from(all(), { objectMode: false });
  const through = (decoder: Transform) => {
    stream.once('error', (error) => decoder.destroy(error));
    return stream.pipe(decoder);
  };
  const compression = detectCompression(head);
  if (compression === 'gzip') return through(zlib.createGunzip());
  if (compression === 'zstd') return through(createZstdDecoder(label) as Transform);
  return stream;
}

/** Runs a shell loop once for many paths (mknod, setfattr): one process per layer, not per entry. */
async function runBatch(script: string, args: readonly string[], what: string, label: string): Promise<void> {
  if (args.length === 0) return;
  const child = spawn('sh', ['-c', script, 'cspec-unpack', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw invalid(label, `${what} failed: ${output.stderr().trim() || `exit ${code}`}`);
}

export async function unpackLayer(
  input: Readable,
  dest: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const label = options.label ?? 'layer';
  const lowers = createLayeredRoot(options.lowerDirs ?? []);
  const hash = createHash('sha256');
  const tar = await decompressed(input, label);
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });

  const checkedDirs = new Set<string>(['']);
  const dirs = new Map<string, Header>();
  const others: Metadata[] = [];
  const nodes: string[] = []; // mknod arguments: path type major minor
  const links: { path: string; target: string }[] = [];
  const xattrs: string[] = []; // setfattr arguments: path name value
  const opaque = new Set<string>();

  const host = (rel: string) => join(dest, rel);

  /** Makes sure every parent of `rel` is a real directory of this layer (never a link). */
  const ensureParents = async (rel: string) => {
    const parts = rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (checkedDirs.has(dir)) continue;
      const info = await lstat(host(dir)).catch(() => undefined);
      if (info?.isSymbolicLink()) {
        throw invalid(label, `entry "${rel}" would be written through the symbolic link "${dir}"`);
      }
      if (info && !info.isDirectory()) await rm(host(dir), { force: true });
      if (!info || !info.isDirectory()) await mkdir(host(dir), { mode: 0o755 });
      checkedDirs.add(dir);
    }
  };

  /** A later entry replaces an earlier one of the same name (a directory only by a non-directory). */
  const clear = async (rel: string, keepDirectory: boolean) => {
    const info = await lstat(host(rel)).catch(() => undefined);
    if (!info || (keepDirectory && info.isDirectory())) return;
    await rm(host(rel), { recursive: true, force: true });
    for (const dir of [...checkedDirs]) if (dir === rel || dir.startsWith(`${rel}/`)) checkedDirs.delete(dir);
  };

  const onEntry = async (header: Header, stream: Readable) => {
    options.signal?.throwIfAborted();
    const rel = entryPath(header.name, label);
    const base = posix.basename(rel);
    if (rel === '') {
      // The root directory's own metadata.
      dirs.set('', header);
      return;
    }
    await ensureParents(rel);
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);

    if (base === OPAQUE) {
      opaque.add(parent);
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      const hidden = posix.join(parent, base.slice(WHITEOUT.length));
      await clear(hidden, false);
      nodes.push(hidden, 'c', '0', '0');
      return;
    }

    for (const [key, value] of Object.entries((header.pax ?? {}) as Record<string, string>)) {
      if (!key.startsWith(XATTR_PREFIX)) continue;
      const name = key.slice(XATTR_PREFIX.length);
      // An image must not steer overlayfs (whiteouts, opaque, redirects) through its own xattrs.
      if (name.startsWith('trusted.overlay.')) continue;
      xattrs.push(rel, name, `0s${Buffer.from(value, 'latin1').toString('base64')}`);
    }

    switch (header.type) {
      case 'directory':
        await clear(rel, true);
        await mkdir(host(rel), { recursive: true, mode: 0o755 });
        checkedDirs.add(rel);
        dirs.set(rel, header);
        return;
      case 'file':
      case 'contiguous-file':
        await clear(rel, false);
        await pipeline(stream as AsyncIterable<Buffer>, createWriteStream(host(rel), { mode: 0o600 }));
        break;
      case 'symlink':
        await clear(rel, false);
        await symlink(header.linkname ?? '', host(rel));
        break;
      case 'link':
        await clear(rel, false);
        links.push({ path: rel, target: entryPath(header.linkname ?? '', label) });
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await clear(rel, false);
        nodes.push(
          rel,
          header.type === 'fifo' ? 'p' : header.type === 'block-device' ? 'b' : 'c',
          String(header.devmajor ?? 0),
          String(header.devminor ?? 0),
        );
        break;
      default:
        // pax/gnu extension headers are consumed by the parser; other types carry nothing to unpack.
        return;
    }
    others.push({ path: rel, header });
  };

  const extractor = extract();
  const fail = (error: Error) => extractor.destroy(error);
  tar.once('error', fail);
  hashing.once('error', fail);
  tar.pipe(hashing).pipe(extractor as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extractor) {
      await onEntry(entry.header, entry as unknown as Readable);
      // Whatever onEntry did not read (directories, links) is skipped.
      entry.resume();
    }
  } catch (error) {
    tar.destroy();
    if (error instanceof CspecError) throw error;
    if (options.signal?.aborted) throw options.signal.reason;
    throw invalid(label, `cannot read it as a tar archive: ${(error as Error).message}`);
  }
  // The hash covers every byte, also the padding after the last entry.
  if (!hashing.writableFinished) await new Promise((resolve) => hashing.once('finish', resolve));

  // From here on the tree's shape is final, but entries may have replaced each other: every deferred
  // step checks that what it touches is still inside the layer (no symbolic link on the way).
  const realDirs = new Map<string, Promise<boolean>>();
  const isRealDir = (rel: string): Promise<boolean> => {
    if (rel === '' || rel === '.') return Promise.resolve(true);
    let known = realDirs.get(rel);
    if (!known) {
      known = (async () =>
        (await isRealDir(posix.dirname(rel))) &&
        ((await lstat(host(rel)).catch(() => undefined))?.isDirectory() ?? false))();
      realDirs.set(rel, known);
    }
    return known;
  };
  const checkInside = async (rel: string) => {
    if (!(await isRealDir(posix.dirname(rel)))) {
      throw invalid(label, `entry "${rel}" would be written through a symbolic link`);
    }
  };
  const safeArgs = async (args: readonly string[], width: number) => {
    const out = [...args];
    for (let i = 0; i < out.length; i += width) {
      await checkInside(out[i]!);
      out[i] = host(out[i]!);
    }
    return out;
  };

  // Device nodes, fifos and whiteouts: one process for the whole layer.
  await runBatch(
    'while [ $# -gt 0 ]; do if [ "$2" = p ]; then mknod "$1" p; else mknod "$1" "$2" "$3" "$4"; fi || exit 1; shift 4; done',
    await safeArgs(nodes, 4),
    'creating device nodes',
    label,
  );

  for (const { path, target } of links) {
    await ensureParents(path);
    // The target's parents must be real directories too: a link through a symlink could reach the host.
    const parts = target.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const info = await lstat(host(parts.slice(0, i).join('/'))).catch(() => undefined);
      if (info?.isSymbolicLink()) {
        throw invalid(
          label,
          `hard link "${path}" points at "${target}" through the symbolic link "${parts.slice(0, i).join('/')}"`,
        );
      }
    }
    let source = host(target);
    if (!(await lstat(source).catch(() => undefined))) {
      // The target is a file of a lower layer: copy it up, as overlayfs would when it is modified.
      const parentInImage = await lowers.realPath(`/${posix.dirname(target)}`, { followLast: true });
      const below = await lowers.entry(posix.join(parentInImage, posix.basename(target)));
      if (!below) throw invalid(label, `hard link "${path}" points at "${target}", which is in no layer`);
      await ensureParents(target);
      await copyFile(below.hostPath, source);
      await lchown(source, below.stats.uid, below.stats.gid);
      await chmod(source, below.stats.mode & 0o7777);
      await lutimes(source, below.stats.atime, below.stats.mtime);
      source = host(target);
    }
    await link(source, host(path));
  }

  const kinds: Record<string, (s: Stats) => boolean> = {
    file: (st) => st.isFile(),
    'contiguous-file': (st) => st.isFile(),
    symlink: (st) => st.isSymbolicLink(),
    'character-device': (st) => st.isCharacterDevice(),
    'block-device': (st) => st.isBlockDevice(),
    fifo: (st) => st.isFIFO(),
  };
  // The last entry of a name wins; an earlier one's metadata must not land on what replaced it.
  const finalEntries = new Map(others.map((o) => [o.path, o.header]));
  for (const [path, header] of finalEntries) {
    await checkInside(path);
    const p = host(path);
    const current = await lstat(p).catch(() => undefined);
    if (!current || !kinds[header.type ?? 'file']?.(current)) continue;
    await lchown(p, header.uid ?? 0, header.gid ?? 0);
    // Links have no mode of their own on Linux; chmod would change the target.
    if (!current.isSymbolicLink()) await chmod(p, (header.mode ?? 0o644) & 0o7777);
    const mtime = header.mtime ?? new Date(0);
    await lutimes(p, mtime, mtime);
  }

  await runBatch(
    'while [ $# -gt 0 ]; do setfattr -h -n "$2" -v "$3" "$1" || exit 1; shift 3; done',
    await safeArgs(xattrs, 3),
    'setting extended attributes',
    label,
  );
  const opaqueDirs: string[] = [];
  for (const d of [...opaque].sort()) if (await isRealDir(d)) opaqueDirs.push(d);
  await runBatch(
    'for d; do setfattr -n trusted.overlay.opaque -v y "$d" || exit 1; done',
    opaqueDirs.map((d) => host(d)),
    'marking opaque directories',
    label,
  );

  // Directories last, deepest first: creating their children changed their mtimes.
  const byDepth = [...dirs.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
  for (const [path, header] of byDepth) {
    if (!(await isRealDir(path))) continue; // replaced by a later entry
    const p = host(path);
    await lchown(p, header.uid ?? 0, header.gid ?? 0);
    await chmod(p, (header.mode ?? 0o755) & 0o7777);
    const mtime = header.mtime ?? new Date(0);
    await lutimes(p, mtime, mtime);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, opaqueDirs };
}
