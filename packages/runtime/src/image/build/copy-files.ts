/**
 * COPY and ADD: the files a step adds, staged in a directory shaped like an
 * overlay upper dir (only new or replaced entries, parents with the
 * image's own metadata), plus a digest of everything copied (paths, modes,
 * owners, contents) for the build cache. Sources come from the build
 * context (never outside it, never what .dockerignore excludes) or from
 * another image's filesystem (`--from`). ADD extracts local tar archives.
 *
 * The context is sealed, as in Docker: a source path is resolved as if the
 * context were the root directory — a symbolic link on the way (the last
 * component too) is followed inside the context (an absolute target `/x`
 * means `<context>/x`, `..` stops at the context), and a link met while
 * copying a directory is copied as a link. A `--from` source is resolved the
 * same way inside that image's root filesystem, and the destination inside
 * the image being built.
 *
 * Owners: the host's root gives each staged entry its owner at once. A user
 * (a rootless engine) cannot: the tree is written as the user, and its
 * owners are set in one batch as root of the user's namespace (tree-owners.ts),
 * where the image's ids are the ids of the user's range; `--from` copies and
 * ADD's extraction run there too.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, lstat, lutimes, mkdir, open, readdir, readlink, symlink, utimes } from 'node:fs/promises';
import { basename, join, posix, relative } from 'node:path';
import { ensureLayerLinks, layerLinkPath } from '../../snapshot/layer-links.js';
import { createLayeredRoot, type LayeredRoot } from '../../snapshot/layered-root.js';
import { assertOverlayFits } from '../../snapshot/overlay-limits.js';
import { createTreeOwners, type TreeOwners } from '../../snapshot/tree-owners.js';

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export type CopyFrom =
  | { readonly kind: 'context'; readonly root: string; readonly ignored: (path: string) => boolean }
  | { readonly kind: 'image'; readonly layerDirs: readonly string[]; readonly label: string };

export interface CopyRequest {
  readonly sources: readonly string[];
  /** Absolute path in the image (WORKDIR applied). A trailing `/` means a directory. */
  readonly dest: string;
  readonly from: CopyFrom;
  /** The upper-shaped directory to fill. */
  readonly tree: string;
  readonly owner: Owner;
  /** ADD: local tar archives are extracted into `dest`. */
  readonly extract: boolean;
  /** The image being built on: where `dest` exists already, and its parents' metadata. */
  readonly target: LayeredRoot;
  /** How entries get their owners. @default chown at once as the host's root, or in the user namespace for a user */
  readonly owners?: TreeOwners;
}

/** Raised for a source that cannot be copied; the builder adds the Dockerfile line. */
export class CopyError extends Error {}

const hasGlob = (s: string) => /[*?[]/.test(s);

/** Linux gives up after 40 links in one lookup (ELOOP); so does this. */
const MAX_LINKS = 40;

/**
 * The context-relative path (`''` for the context itself) that `path` leads to, every symbolic link
 * on the way resolved inside the context as if it were `/` (the last component's when `followLast`).
 * Only lstat and readlink are used, on paths whose parents are real directories of the context: no
 * lookup ever follows a link on the host. A link that .dockerignore excludes is not in the context.
 */
export async function resolveInContext(
  root: string,
  path: string,
  ignored: (rel: string) => boolean,
  followLast: boolean,
): Promise<string> {
  let pending = path.split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const [name, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (name === '.') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const rel = [...resolved, name].join('/');
    const st = await lstat(join(root, rel)).catch(() => undefined);
    if (st?.isSymbolicLink() && (pending.length > 0 || followLast)) {
      if (ignored(rel))
        throw new CopyError(`${path}: not found in the build context (excluded by .dockerignore)`);
      if (++links > MAX_LINKS) throw new CopyError(`${path}: too many levels of symbolic links`);
      const target = await readlink(join(root, rel));
      if (target.startsWith('/')) resolved = [];
      pending = [...target.split('/').filter(Boolean), ...pending];
      continue;
    }
    resolved.push(name);
  }
  return resolved.join('/');
}

function globRegex(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

async function isArchive(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 262 && head.toString('latin1', 257, 262) === 'ustar') return true;
    const magic = head.subarray(0, 6).toString('hex');
    return magic.startsWith('1f8b') || magic.startsWith('425a68') || magic === 'fd377a585a00';
  } finally {
    await handle.close();
  }
}

function run(command: string, args: readonly string[], owners?: TreeOwners): Promise<void> {
  const [file, ...rest] = owners ? owners.command([command, ...args]) : [command, ...args];
  return new Promise((done, fail) => {
    const child = spawn(file, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done() : fail(new CopyError(`${command} failed: ${stderr.trim()}`)),
    );
  });
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Creates `dir` and its missing parents in `tree`, each with the image's metadata where it has the directory. */
export async function makeParents(
  tree: string,
  dir: string,
  target: LayeredRoot,
  owners: TreeOwners,
): Promise<void> {
  let current = '/';
  for (const part of dir.split('/').filter(Boolean)) {
    current = posix.join(current, part);
    const here = join(tree, current);
    const existing = await lstat(here).catch(() => undefined);
    if (existing) continue;
    const inImage = await target.entry(current);
    const stats = inImage?.stats.isDirectory() ? inImage.stats : undefined;
    await mkdir(here, { mode: stats ? stats.mode & 0o7777 : 0o755 });
    await owners.set(here, stats ? owners.fromLayer(stats) : { uid: 0, gid: 0 });
    if (stats) await utimes(here, stats.atime, stats.mtime);
  }
}

/** Copies a context entry (recursively), skipping what .dockerignore excludes; records what it copied. */
async function copyEntry(
  source: string,
  dest: string,
  rel: string,
  req: CopyRequest & { from: Extract<CopyFrom, { kind: 'context' }>; owners: TreeOwners },
  record: (line: string) => void,
  digests: Promise<void>[],
): Promise<void> {
  if (rel && req.from.ignored(rel)) return;
  const st = await lstat(source);
  const mode = st.mode & 0o7777;
  const name = relative(req.tree, dest);
  if (st.isDirectory()) {
    await mkdir(dest, { recursive: true, mode });
    for (const child of (await readdir(source)).sort()) {
      await copyEntry(
        join(source, child),
        join(dest, child),
        rel ? `${rel}/${child}` : child,
        req,
        record,
        digests,
      );
    }
    await req.owners.set(dest, req.owner);
    await utimes(dest, st.atime, st.mtime);
    record(`d ${name} ${mode.toString(8)}`);
  } else if (st.isSymbolicLink()) {
    const target = await readlink(source);
    await symlink(target, dest);
    await req.owners.set(dest, req.owner);
    await lutimes(dest, st.atime, st.mtime);
    record(`l ${name} ${target}`);
  } else if (st.isFile()) {
    await copyFile(source, dest);
    await req.owners.set(dest, req.owner);
    await utimes(dest, st.atime, st.mtime);
    const line = `f ${name} ${mode.toString(8)}`;
    digests.push(fileDigest(source).then((d) => record(`${line} ${d}`)));
  }
}

/** Stages the files of one COPY/ADD into `req.tree`; returns the digest of what was copied. */
export async function stageCopy(request: CopyRequest): Promise<string> {
  const owners = request.owners ?? (await createTreeOwners());
  const digest = await stageWithOwners({ ...request, owners });
  await owners.flush();
  return digest;
}

async function stageWithOwners(request: CopyRequest & { owners: TreeOwners }): Promise<string> {
  // The destination is a path in the image: `..` stops at its root (it never leaves the staged tree).
  const clamped = posix.resolve('/', request.dest);
  const owners = request.owners;
  const req = {
    ...request,
    dest: clamped + (request.dest.endsWith('/') && clamped !== '/' ? '/' : ''),
  };
  const lines: string[] = [`owner ${req.owner.uid}:${req.owner.gid}`, `dest ${req.dest}`];
  const record = (line: string) => lines.push(line);
  const digests: Promise<void>[] = [];
  const destInImage = await req.target.entry(req.dest.replace(/\/+$/, '') || '/');
  const destIsDir =
    req.dest.endsWith('/') || req.sources.length > 1 || destInImage?.stats.isDirectory() === true;

  if (req.from.kind === 'image') {
    // Another image's files, read through a read-only overlay in a throwaway mount namespace.
    const from = req.from;
    const fromRoot = createLayeredRoot([...from.layerDirs].reverse());
    for (const source of req.sources) {
      if (hasGlob(source)) throw new CopyError(`wildcards are not supported with --from (${source})`);
      // Links resolved inside that image's root (never the host's): the mount below sees no link on the way.
      const src = await fromRoot.realPath(posix.resolve('/', source), { followLast: true });
      const destPath = destIsDir ? posix.join(req.dest, basename(posix.resolve('/', source))) : req.dest;
      await makeParents(req.tree, posix.dirname(destPath), req.target, owners);
      const layers = [...from.layerDirs].reverse();
      assertOverlayFits(
        { lowerDirs: layers.map(layerLinkPath), userxattr: owners.userxattr },
        `the image of --from=${from.label}`,
      );
      const lower = (await ensureLayerLinks(layers)).join(':');
      const script = [
        'set -e',
        // overlayfs wants two lower layers at least when it has no upper one: one layer is bound as it is.
        'case "$2" in *:*) mount -t overlay overlay -o "ro,$7lowerdir=$2" "$1" ;; *) mount --bind "$2" "$1" ;; esac',
        '[ -e "$1$3" ] || [ -L "$1$3" ] || { echo "$6: no such file or directory in $5" >&2; exit 3; }',
        '[ "$(realpath -m "$1$3")" = "$1$3" ] || { echo "$6 leads through a symbolic link in $5" >&2; exit 4; }',
        'if [ -d "$1$3" ]; then mkdir -p "$4" && cp -a "$1$3/." "$4/"; else cp -a "$1$3" "$4"; fi',
      ].join('\n');
      const mountPoint = join(req.tree, '..', `${basename(req.tree)}.mnt`);
      await mkdir(mountPoint, { recursive: true });
      await run(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          script,
          'sh',
          mountPoint,
          lower,
          src,
          join(req.tree, destPath),
          from.label,
          source,
          owners.userxattr ? 'userxattr,' : '',
        ],
        owners,
      );
      await run('chown', ['-hR', `${req.owner.uid}:${req.owner.gid}`, join(req.tree, destPath)], owners);
      record(`from ${from.label} ${src} -> ${destPath}`);
    }
    return createHash('sha256').update(lines.join('\n')).digest('hex');
  }

  const context = req.from;
  for (const source of req.sources) {
    if (/^[a-z]+:\/\//i.test(source)) {
      throw new CopyError(
        `${source}: URLs are not supported — download the file into the build context first`,
      );
    }
    const normalized = posix.normalize(source.replace(/^\/+/, ''));
    if (normalized === '..' || normalized.startsWith('../')) {
      throw new CopyError(`${source} is outside the build context`);
    }
    const { root, ignored } = context;
    const literal = normalized === '.' ? '' : normalized;
    // What each source names: its name (for the destination) and where it leads inside the context.
    let matches: { name: string; rel: string }[] = [];
    if (hasGlob(posix.basename(literal))) {
      const dirRel = await resolveInContext(root, posix.dirname(literal), ignored, true);
      const regex = globRegex(posix.basename(literal));
      const names = (await readdir(join(root, dirRel)).catch(() => [] as string[])).filter((n) =>
        regex.test(n),
      );
      for (const n of names.sort()) {
        const written = dirRel ? `${dirRel}/${n}` : n;
        if (ignored(written)) continue;
        const rel = await resolveInContext(root, written, ignored, true).catch(() => undefined);
        if (rel === undefined || (rel && ignored(rel))) continue;
        if (!(await lstat(join(root, rel)).catch(() => undefined))) continue;
        matches.push({ name: n, rel });
      }
      if (matches.length === 0) throw new CopyError(`no file in the build context matches ${source}`);
    } else {
      const rel = await resolveInContext(root, literal, ignored, true);
      const st = await lstat(join(root, rel)).catch(() => undefined);
      const excluded = (literal !== '' && ignored(literal)) || (rel !== '' && ignored(rel));
      if (!st || excluded) {
        const via =
          rel !== literal
            ? ` (it leads to ${rel ? `./${rel}` : 'the context'}: links are resolved inside the context)`
            : '';
        throw new CopyError(
          `${source}: not found in the build context${st ? ' (excluded by .dockerignore)' : via}`,
        );
      }
      matches = [{ name: posix.basename(literal) || basename(root), rel }];
    }
    const many = destIsDir || matches.length > 1;
    for (const { name: matchName, rel } of matches) {
      const match = join(root, rel);
      const st = await lstat(match);
      if (st.isDirectory()) {
        await makeParents(req.tree, req.dest, req.target, owners);
        for (const child of (await readdir(match)).sort()) {
          const childRel = rel ? `${rel}/${child}` : child;
          await copyEntry(
            join(match, child),
            join(req.tree, req.dest, child),
            childRel,
            { ...req, from: context, owners },
            record,
            digests,
          );
        }
        continue;
      }
      if (req.extract && st.isFile() && (await isArchive(match))) {
        await makeParents(req.tree, req.dest, req.target, owners);
        // Owners as the archive says (as Docker does for ADD of a local archive).
        // GNU tar keeps the extraction inside the directory: it refuses `..` members, takes absolute
        // names and link targets as relative, and never writes through a link the archive made.
        await run(
          'tar',
          ['-xf', match, '-C', join(req.tree, req.dest), '--same-owner', '--numeric-owner'],
          owners,
        ).catch((error: Error) => {
          throw new CopyError(`${source}: cannot extract the archive ./${rel}: ${error.message}`);
        });
        record(`archive ${rel} ${await fileDigest(match)}`);
        continue;
      }
      const destPath = many ? posix.join(req.dest, matchName) : req.dest;
      await makeParents(req.tree, posix.dirname(destPath), req.target, owners);
      await copyEntry(
        match,
        join(req.tree, destPath),
        '',
        { ...req, from: context, owners },
        record,
        digests,
      );
    }
  }
  await Promise.all(digests);
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
