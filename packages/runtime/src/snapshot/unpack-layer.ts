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
 * In a rootless engine's user namespace (`userNamespace`, the unpack runs as
 * root inside it: unpack-main.ts) overlayfs reads the `user.overlay.*`
 * xattrs (mounted with `userxattr`), so an opaque directory gets
 * `user.overlay.opaque=y`; whiteouts stay 0/0 character devices (the kernel
 * lets mapped root make those). Device nodes are skipped (mapped root cannot
 * make them; the OCI runtime gives containers their /dev, as Docker and
 * podman do in a user namespace), fifos are made, `trusted.*` xattrs are
 * dropped (only host root may set them). An entry owned by an id the
 * namespace does not map fails the unpack naming the entry, the id and the
 * range: its owner is never silently changed.
 *
 * Entries that would land outside the directory — a `..` component, or a
 * path through a symbolic link — are refused, and so is a whiteout that
 * names no file of its directory (`.wh.`, `.wh..`, `.wh...`: containerd
 * refuses them too, "invalid whiteout name"). AUFS metadata entries other
 * than the opaque marker are skipped, as Docker and containerd skip them. A
 * hard link to a lower layer's file copies that entry up as what it is (a
 * symbolic link as a link, a device node as a node): nothing is ever read
 * through a link or from a device. The result is the layer's diff
 * id: the sha256 of the uncompressed tar.
 *
 * Speed: a layer has thousands of small entries, and an awaited file system
 * call costs a round trip through libuv's thread pool, which dominated the
 * time (unpacking ran at a tenth of `tar -x`). So the per-entry work uses the
 * synchronous calls (each is short; the event loop still turns between tar
 * chunks), a regular file gets its owner, mode and mtime through its open
 * descriptor before it is closed (no second pass by path), and a path is
 * looked at (lstat) only when this layer may have put something there.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import type { IdMapping } from '../rootless/id-ranges.js';
import { captureOutput } from '../util/capture-output.js';
import { isNoSpace } from '../util/no-space.js';
import { createZstdDecoder, detectCompression } from './compression.js';
import { createLayeredRoot, type LayerEntry } from './layered-root.js';
import { opaqueXattr } from './overlay-xattrs.js';

export interface UnpackOptions {
  /** The layers below this one, TOP FIRST: where hard links to earlier files are found. */
  readonly lowerDirs?: readonly string[];
  readonly signal?: AbortSignal;
  /** For error messages, e.g. `layer 3 of docker.io/library/postgres:16`. */
  readonly label?: string;
  /**
   * Unpack as root of a rootless engine's user namespace, whose maps these
   * are (its `uid_map`/`gid_map`). @default the host's root: every id, device nodes, `trusted.*`
   */
  readonly userNamespace?: NamespaceIds;
}

/** The ids a user namespace maps, and whose namespace it is (for the hint of an error). */
export interface NamespaceIds {
  readonly uidMap: readonly IdMapping[];
  readonly gidMap: readonly IdMapping[];
  /** The user whose subordinate ids these are. */
  readonly user: string;
}

export interface UnpackResult {
  /** `sha256:` of the uncompressed tar. */
  readonly diffId: string;
  /** Directories (inside the layer) that hide what lower layers have there. */
  readonly opaqueDirs: readonly string[];
}

const WHITEOUT = '.wh.';
/** AUFS' own metadata (`.wh..wh.plnk`, `.wh..wh.aufs`, `.wh..wh.orph`); only the opaque marker means anything. */
const WHITEOUT_META = '.wh..wh.';
const OPAQUE = '.wh..wh..opq';
const XATTR_PREFIX = 'SCHILY.xattr.';

const debug = createDebug('cspec:unpack');

/**
 * Whether an image's xattr is set on the unpacked file. Never the overlay
 * ones (an image must not steer overlayfs: whiteouts, opaque dirs, redirects),
 * and no `trusted.*` inside a user namespace (only the host's root may set them).
 */
export function keepsXattr(name: string, inUserNamespace: boolean): boolean {
  if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) return false;
  return !(inUserNamespace && name.startsWith('trusted.'));
}

const inside = (maps: readonly IdMapping[], id: number) =>
  maps.some((m) => id >= m.inside && id < m.inside + m.count);

const describeMap = (maps: readonly IdMapping[]) =>
  maps.map((m) => (m.count === 1 ? `${m.inside}` : `${m.inside}-${m.inside + m.count - 1}`)).join(', ');

/**
 * The error for an entry whose owner the namespace does not map (chown would
 * fail with EINVAL), or undefined when both its uid and gid are mapped.
 */
export function unmappedOwner(
  entry: string,
  owner: { readonly uid: number; readonly gid: number },
  ids: NamespaceIds,
  label: string,
): CspecError | undefined {
  const uidOk = inside(ids.uidMap, owner.uid);
  const gidOk = inside(ids.gidMap, owner.gid);
  if (uidOk && gidOk) return undefined;
  const needed = Math.max(uidOk ? 0 : owner.uid, gidOk ? 0 : owner.gid);
  const range = ids.uidMap.find((m) => m.inside === 1);
  return new CspecError(
    'CSPEC_ID_NOT_MAPPED',
    `${label}: entry "${entry}" belongs to uid ${owner.uid} / gid ${owner.gid}, which the user namespace does not map ` +
      `(it maps uids ${describeMap(ids.uidMap)} and gids ${describeMap(ids.gidMap)}: 0 is ${ids.user}, ` +
      `${range ? `1 and up are ${ids.user}'s subordinate ids from /etc/subuid and /etc/subgid` : `${ids.user} has no subordinate ids`}); ` +
      'nothing of the layer was kept',
    {
      hint: `give ${ids.user} a subordinate range of at least ${needed} ids in /etc/subuid and /etc/subgid (e.g. a line "${ids.user}:100000:${Math.ceil((needed + 1) / 65536) * 65536}" in both, not overlapping another user's), or use an image whose files belong to ids below ${Math.max(...ids.uidMap.map((m) => m.inside + m.count))}`,
    },
  );
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
  const asBuffer = (v: Buffer | string) => (typeof v === 'string' ? Buffer.from(v) : v);
  const head = first.done ? Buffer.alloc(0) : asBuffer(first.value);
  async function* all() {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      yield asBuffer(next.value);
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

/** lstat that says "nothing there" as undefined instead of an exception (exceptions are slow). */
function lstatOrNothing(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/** Writes all of `chunk` (a regular file takes it in one call; a short write is continued). */
function writeAll(fd: number, chunk: Buffer): void {
  for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done);
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

const major = (rdev: number) => ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
const minor = (rdev: number) => (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);

/**
 * Copies a lower layer's entry into this layer as what it is, as overlayfs does on copy-up: a
 * regular file by its contents, a symbolic link as a link (never what it points at), a device
 * node or fifo as a node (never the device's contents).
 */
async function copyUp(below: LayerEntry, dest: string, what: string, label: string): Promise<void> {
  const st = below.stats;
  if (st.isFile()) await copyFile(below.hostPath, dest);
  else if (st.isSymbolicLink()) symlinkSync(await readlink(below.hostPath), dest);
  else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    const type = st.isFIFO() ? 'p' : st.isBlockDevice() ? 'b' : 'c';
    await runBatch(
      'if [ "$2" = p ]; then mknod "$1" p; else mknod "$1" "$2" "$3" "$4"; fi',
      [dest, type, String(major(st.rdev)), String(minor(st.rdev))],
      'creating a device node',
      label,
    );
  } else throw invalid(label, `${what}, which is not a file (hard links to directories are not allowed)`);
  await lchown(dest, st.uid, st.gid);
  if (!st.isSymbolicLink()) await chmod(dest, st.mode & 0o7777);
  await lutimes(dest, st.atime, st.mtime);
}

export async function unpackLayer(
  input: Readable,
  dest: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const label = options.label ?? 'layer';
  const ids = options.userNamespace;
  const inUserNamespace = ids !== undefined;
  let skippedDevices = 0;
  // Device nodes not made (in a user namespace), so that a hard link to one is skipped too.
  const skipped = new Set<string>();
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
  // Device nodes and fifos by path, made after the tar is read; their metadata is set then.
  const others = new Map<string, Header>();
  const nodes: string[] = []; // mknod arguments: path type major minor
  const links: { path: string; target: string }[] = [];
  const xattrs: string[] = []; // setfattr arguments: path name value
  const opaque = new Set<string>();

  const host = (rel: string) => join(dest, rel);

  // The paths this layer has put in `dest` (which starts empty): a path that is not here needs no
  // lstat to know nothing is there. Undefined when `dest` was not empty: then every path is looked at.
  let present: Set<string> | undefined = readdirSync(dest).length === 0 ? new Set() : undefined;
  const look = (rel: string): Stats | undefined =>
    present && !present.has(rel) ? undefined : lstatOrNothing(host(rel));
  const forget = (rel: string, wasDirectory: boolean) => {
    present?.delete(rel);
    checkedDirs.delete(rel);
    if (!wasDirectory) return;
    const prefix = `${rel}/`;
    if (present) for (const p of present) if (p.startsWith(prefix)) present.delete(p);
    for (const dir of checkedDirs) if (dir.startsWith(prefix)) checkedDirs.delete(dir);
  };

  /** Makes sure every parent of `rel` is a real directory of this layer (never a link). */
  const ensureParents = (rel: string) => {
    const end = rel.lastIndexOf('/');
    if (end < 0 || checkedDirs.has(rel.slice(0, end))) return;
    const parts = rel.slice(0, end).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (checkedDirs.has(dir)) continue;
      const info = look(dir);
      if (info?.isSymbolicLink()) {
        throw invalid(label, `entry "${rel}" would be written through the symbolic link "${dir}"`);
      }
      if (info && !info.isDirectory()) {
        rmSync(host(dir), { force: true });
        forget(dir, false);
      }
      if (!info || !info.isDirectory()) mkdirSync(host(dir), { mode: 0o755 });
      present?.add(dir);
      checkedDirs.add(dir);
    }
  };

  /** A later entry replaces an earlier one of the same name (a directory only by a non-directory). */
  const clear = (rel: string, keepDirectory: boolean) => {
    const info = look(rel);
    if (!info || (keepDirectory && info.isDirectory())) return;
    rmSync(host(rel), { recursive: true, force: true });
    forget(rel, info.isDirectory());
  };

  /** Owner, mode and mtime through the open file: no later pass by path, which could meet a replacement. */
  const writeFile = async (rel: string, header: Header, stream: Readable) => {
    const fd = openSync(host(rel), 'wx', 0o600);
    present?.add(rel);
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) writeAll(fd, chunk);
      fchownSync(fd, header.uid ?? 0, header.gid ?? 0);
      // After chown, which clears setuid and setgid.
      fchmodSync(fd, (header.mode ?? 0o644) & 0o7777);
      const mtime = header.mtime ?? new Date(0);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
  };

  const onEntry = async (header: Header, stream: Readable) => {
    options.signal?.throwIfAborted();
    const rel = entryPath(header.name, label);
    if (rel === '') {
      // The root directory's own metadata.
      const error = ids && unmappedOwner('/', { uid: header.uid ?? 0, gid: header.gid ?? 0 }, ids, label);
      if (error) throw error;
      dirs.set('', header);
      return;
    }
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const base = rel.slice(slash + 1);
    if (base !== OPAQUE && rel.split('/').some((part) => part.startsWith(WHITEOUT_META))) return;
    const hiddenName = base.startsWith(WHITEOUT) ? base.slice(WHITEOUT.length) : undefined;
    if (hiddenName === '' || hiddenName === '.' || hiddenName === '..') {
      throw invalid(
        label,
        `entry "${header.name}" is not a valid whiteout: "${base}" names no file of its directory`,
      );
    }
    if (ids && hiddenName === undefined && base !== OPAQUE) {
      const isDevice = header.type === 'character-device' || header.type === 'block-device';
      const error = isDevice
        ? undefined
        : unmappedOwner(rel, { uid: header.uid ?? 0, gid: header.gid ?? 0 }, ids, label);
      if (error) throw error;
    }
    ensureParents(rel);

    if (base === OPAQUE) {
      opaque.add(parent);
      return;
    }
    skipped.delete(rel);
    if (hiddenName !== undefined) {
      const hidden = parent ? `${parent}/${hiddenName}` : hiddenName;
      clear(hidden, false);
      nodes.push(hidden, 'c', '0', '0');
      return;
    }

    if (header.pax) {
      for (const [key, value] of Object.entries(header.pax as Record<string, string>)) {
        if (!key.startsWith(XATTR_PREFIX)) continue;
        const name = key.slice(XATTR_PREFIX.length);
        if (!keepsXattr(name, inUserNamespace)) {
          debug('%s: dropped the xattr %s of %s', label, name, rel);
          continue;
        }
        xattrs.push(rel, name, `0s${Buffer.from(value, 'latin1').toString('base64')}`);
      }
    }

    switch (header.type) {
      case 'directory':
        clear(rel, true);
        mkdirSync(host(rel), { recursive: true, mode: 0o755 });
        present?.add(rel);
        checkedDirs.add(rel);
        dirs.set(rel, header);
        return;
      case 'file':
      case 'contiguous-file':
        clear(rel, false);
        await writeFile(rel, header, stream);
        // A later entry of the same name replaced an earlier device node's pending metadata.
        others.delete(rel);
        return;
      case 'symlink': {
        clear(rel, false);
        const p = host(rel);
        symlinkSync(header.linkname ?? '', p);
        present?.add(rel);
        // Links have no mode of their own on Linux; chmod would change the target.
        lchownSync(p, header.uid ?? 0, header.gid ?? 0);
        const mtime = header.mtime ?? new Date(0);
        lutimesSync(p, mtime, mtime);
        others.delete(rel);
        return;
      }
      case 'link':
        clear(rel, false);
        others.delete(rel);
        links.push({ path: rel, target: entryPath(header.linkname ?? '', label) });
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        clear(rel, false);
        others.delete(rel);
        if (inUserNamespace && header.type !== 'fifo') {
          // The OCI runtime gives the container its /dev; mapped root cannot make device nodes.
          skippedDevices++;
          skipped.add(rel);
          return;
        }
        nodes.push(
          rel,
          header.type === 'fifo' ? 'p' : header.type === 'block-device' ? 'b' : 'c',
          String(header.devmajor ?? 0),
          String(header.devminor ?? 0),
        );
        // Created after the tar is read (one mknod process); its metadata follows then.
        others.set(rel, header);
        return;
      default:
        // pax/gnu extension headers are consumed by the parser; other types carry nothing to unpack.
        return;
    }
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
    // Stopped before the end: the input (a download still being written, a file) is let go of too.
    tar.destroy();
    input.destroy();
    if (error instanceof CspecError) throw error;
    if (options.signal?.aborted) throw options.signal.reason;
    // A full disk is not a damaged archive: the caller reports it as what it is.
    if (isNoSpace(error)) throw error;
    throw invalid(label, `cannot read it as a tar archive: ${(error as Error).message}`);
  }
  // The hash covers every byte, also the padding after the last entry.
  if (!hashing.writableFinished) await new Promise((resolve) => hashing.once('finish', resolve));

  // The deferred steps below make nodes the set above does not record: from here on, look at every path.
  present = undefined;

  // From here on the tree's shape is final, but entries may have replaced each other: every deferred
  // step checks that what it touches is still inside the layer (no symbolic link on the way).
  const realDirs = new Map<string, boolean>();
  const isRealDir = (rel: string): boolean => {
    if (rel === '' || rel === '.') return true;
    let known = realDirs.get(rel);
    if (known === undefined) {
      known = isRealDir(posix.dirname(rel)) && (lstatOrNothing(host(rel))?.isDirectory() ?? false);
      realDirs.set(rel, known);
    }
    return known;
  };
  const checkInside = (rel: string) => {
    if (!isRealDir(posix.dirname(rel))) {
      throw invalid(label, `entry "${rel}" would be written through a symbolic link`);
    }
  };
  const safeArgs = (args: readonly string[], width: number) => {
    const out = [...args];
    for (let i = 0; i < out.length; i += width) {
      checkInside(out[i]!);
      out[i] = host(out[i]!);
    }
    return out;
  };

  // Device nodes, fifos and whiteouts: one process for the whole layer.
  await runBatch(
    'while [ $# -gt 0 ]; do if [ "$2" = p ]; then mknod "$1" p; else mknod "$1" "$2" "$3" "$4"; fi || exit 1; shift 4; done',
    safeArgs(nodes, 4),
    'creating device nodes',
    label,
  );

  for (const { path, target } of links) {
    if (skipped.has(target)) {
      skippedDevices++;
      continue;
    }
    ensureParents(path);
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
    const source = host(target);
    if (!(await lstat(source).catch(() => undefined))) {
      // The target is a file of a lower layer: copy it up, as overlayfs would when it is modified.
      const parentInImage = await lowers.realPath(`/${posix.dirname(target)}`, { followLast: true });
      const below = await lowers.entry(posix.join(parentInImage, posix.basename(target)));
      if (!below) throw invalid(label, `hard link "${path}" points at "${target}", which is in no layer`);
      ensureParents(target);
      await copyUp(below, source, `hard link "${path}" points at "${target}"`, label);
    }
    await link(source, host(path));
  }

  const kinds: Record<string, (s: Stats) => boolean> = {
    'character-device': (st) => st.isCharacterDevice(),
    'block-device': (st) => st.isBlockDevice(),
    fifo: (st) => st.isFIFO(),
  };
  // The last entry of a name wins; an earlier one's metadata must not land on what replaced it.
  for (const [path, header] of others) {
    checkInside(path);
    const p = host(path);
    const current = lstatOrNothing(p);
    if (!current || !kinds[header.type ?? 'file']?.(current)) continue;
    lchownSync(p, header.uid ?? 0, header.gid ?? 0);
    chmodSync(p, (header.mode ?? 0o644) & 0o7777);
    const mtime = header.mtime ?? new Date(0);
    lutimesSync(p, mtime, mtime);
  }

  await runBatch(
    'while [ $# -gt 0 ]; do setfattr -h -n "$2" -v "$3" "$1" || exit 1; shift 3; done',
    safeArgs(xattrs, 3),
    'setting extended attributes',
    label,
  );
  const opaqueDirs: string[] = [];
  for (const d of [...opaque].sort()) if (isRealDir(d)) opaqueDirs.push(d);
  await runBatch(
    `for d; do setfattr -n ${opaqueXattr(inUserNamespace)} -v y "$d" || exit 1; done`,
    opaqueDirs.map((d) => host(d)),
    'marking opaque directories',
    label,
  );

  // Directories last, deepest first: creating their children changed their mtimes.
  const byDepth = [...dirs.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
  for (const [path, header] of byDepth) {
    if (!isRealDir(path)) continue; // replaced by a later entry
    const p = host(path);
    lchownSync(p, header.uid ?? 0, header.gid ?? 0);
    chmodSync(p, (header.mode ?? 0o755) & 0o7777);
    const mtime = header.mtime ?? new Date(0);
    lutimesSync(p, mtime, mtime);
  }
  if (skippedDevices > 0)
    debug(
      '%s: skipped %d device nodes (in a user namespace the OCI runtime provides /dev)',
      label,
      skippedDevices,
    );
  return { diffId: `sha256:${hash.digest('hex')}`, opaqueDirs };
}
