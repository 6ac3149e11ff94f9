/**
 * COPY and ADD: the files a step adds, staged in a directory shaped like an
 * overlay upper dir (only new or replaced entries, parents with the
 * image's own metadata), plus a digest of everything copied (paths, modes,
 * owners, contents) for the build cache. Sources come from the build
 * context (never outside it, never what .dockerignore excludes) or from
 * another image's filesystem (`--from`). ADD extracts local tar archives.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chown,
  copyFile,
  lchown,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  symlink,
  utimes,
} from 'node:fs/promises';
import { basename, join, posix, relative, resolve } from 'node:path';
import { ensureLayerLinks, layerLinkPath } from '../../snapshot/layer-links.js';
import type { LayeredRoot } from '../../snapshot/layered-root.js';
import { assertOverlayFits } from '../../snapshot/overlay-limits.js';

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
}

/** Raised for a source that cannot be copied; the builder adds the Dockerfile line. */
export class CopyError extends Error {}

const hasGlob = (s: string) => /[*?[]/.test(s);

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

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
export async function makeParents(tree: string, dir: string, target: LayeredRoot): Promise<void> {
  let current = '/';
  for (const part of dir.split('/').filter(Boolean)) {
    current = posix.join(current, part);
    const here = join(tree, current);
    const existing = await lstat(here).catch(() => undefined);
    if (existing) continue;
    const inImage = await target.entry(current);
    const stats = inImage?.stats.isDirectory() ? inImage.stats : undefined;
    await mkdir(here, { mode: stats ? stats.mode & 0o7777 : 0o755 });
    await chown(here, stats?.uid ?? 0, stats?.gid ?? 0);
    if (stats) await utimes(here, stats.atime, stats.mtime);
  }
}

/** Copies a context entry (recursively), skipping what .dockerignore excludes; records what it copied. */
async function copyEntry(
  source: string,
  dest: string,
  rel: string,
  req: CopyRequest & { from: Extract<CopyFrom, { kind: 'context' }> },
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
    await chown(dest, req.owner.uid, req.owner.gid);
    await utimes(dest, st.atime, st.mtime);
    record(`d ${name} ${mode.toString(8)}`);
  } else if (st.isSymbolicLink()) {
    const target = await readlink(source);
    await symlink(target, dest);
    await lchown(dest, req.owner.uid, req.owner.gid);
    await lutimes(dest, st.atime, st.mtime);
    record(`l ${name} ${target}`);
  } else if (st.isFile()) {
    await copyFile(source, dest);
    await chown(dest, req.owner.uid, req.owner.gid);
    await utimes(dest, st.atime, st.mtime);
    const line = `f ${name} ${mode.toString(8)}`;
    digests.push(fileDigest(source).then((d) => record(`${line} ${d}`)));
  }
}

/** Stages the files of one COPY/ADD into `req.tree`; returns the digest of what was copied. */
export async function stageCopy(req: CopyRequest): Promise<string> {
  const lines: string[] = [`owner ${req.owner.uid}:${req.owner.gid}`, `dest ${req.dest}`];
  const record = (line: string) => lines.push(line);
  const digests: Promise<void>[] = [];
  const destInImage = await req.target.entry(req.dest.replace(/\/+$/, '') || '/');
  const destIsDir =
    req.dest.endsWith('/') || req.sources.length > 1 || destInImage?.stats.isDirectory() === true;

  if (req.from.kind === 'image') {
    // Another image's files, read through a read-only overlay in a throwaway mount namespace.
    const from = req.from;
    for (const source of req.sources) {
      if (hasGlob(source)) throw new CopyError(`wildcards are not supported with --from (${source})`);
      const src = posix.resolve('/', source);
      const destPath = destIsDir ? posix.join(req.dest, basename(src)) : req.dest;
      await makeParents(req.tree, posix.dirname(destPath), req.target);
      const layers = [...from.layerDirs].reverse();
      assertOverlayFits({ lowerDirs: layers.map(layerLinkPath) }, `the image of --from=${from.label}`);
      const lower = (await ensureLayerLinks(layers)).join(':');
      const script = [
        'set -e',
        'mount -t overlay overlay -o "ro,lowerdir=$2" "$1"',
        '[ -e "$1$3" ] || [ -L "$1$3" ] || { echo "$3: no such file or directory in $5" >&2; exit 3; }',
        'if [ -d "$1$3" ]; then mkdir -p "$4" && cp -a "$1$3/." "$4/"; else cp -a "$1$3" "$4"; fi',
      ].join('\n');
      const mountPoint = join(req.tree, '..', `${basename(req.tree)}.mnt`);
      await mkdir(mountPoint, { recursive: true });
      await run('unshare', [
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
      ]);
      await run('chown', ['-hR', `${req.owner.uid}:${req.owner.gid}`, join(req.tree, destPath)]);
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
    const absolute = resolve(context.root, normalized);
    const inContext = relative(context.root, absolute);
    let matches: string[];
    if (hasGlob(basename(absolute))) {
      const dir = resolve(absolute, '..');
      const regex = globRegex(basename(absolute));
      matches = (await readdir(dir).catch(() => [] as string[]))
        .filter((n) => regex.test(n))
        .map((n) => join(dir, n))
        .filter((p) => !context.ignored(relative(context.root, p)));
      if (matches.length === 0) throw new CopyError(`no file in the build context matches ${source}`);
    } else {
      const st = await lstat(absolute).catch(() => undefined);
      if (!st || (inContext && context.ignored(inContext))) {
        throw new CopyError(
          `${source}: not found in the build context${st ? ' (excluded by .dockerignore)' : ''}`,
        );
      }
      matches = [absolute];
    }
    const many = destIsDir || matches.length > 1;
    for (const match of matches) {
      const st = await lstat(match);
      const rel = relative(context.root, match);
      if (st.isDirectory()) {
        await makeParents(req.tree, req.dest, req.target);
        for (const child of (await readdir(match)).sort()) {
          const childRel = rel ? `${rel}/${child}` : child;
          await copyEntry(
            join(match, child),
            join(req.tree, req.dest, child),
            childRel,
            { ...req, from: context },
            record,
            digests,
          );
        }
        continue;
      }
      if (req.extract && st.isFile() && (await isArchive(match))) {
        await makeParents(req.tree, req.dest, req.target);
        // Owners as the archive says (as Docker does for ADD of a local archive).
        await run('tar', ['-xf', match, '-C', join(req.tree, req.dest), '--same-owner', '--numeric-owner']);
        record(`archive ${rel} ${await fileDigest(match)}`);
        continue;
      }
      const destPath = many ? posix.join(req.dest, basename(match)) : req.dest;
      await makeParents(req.tree, posix.dirname(destPath), req.target);
      await copyEntry(match, join(req.tree, destPath), '', { ...req, from: context }, record, digests);
    }
  }
  await Promise.all(digests);
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
