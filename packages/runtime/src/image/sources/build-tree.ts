/**
 * Building an image from a root filesystem tree in the store's tmp dir: run
 * the build's commands under supervision, leave out what depends on the host,
 * then archive the tree as the image's one layer and publish the tree itself
 * as that layer's directory (no second unpack). Used by the Debian bootstrap.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type { Descriptor } from '../../content/blob-store.js';
import { abortError, CspecError } from '../../errors.js';
import { chainIds } from '../../snapshot/chain-id.js';
import { hostArchitecture, type OciImageConfig, writeImage } from '../oci.js';
import type { ImageReference } from '../reference.js';
import type { SourceContext } from '../source.js';

/** How long a build step gets to exit after SIGTERM before the whole group is SIGKILLed. */
const KILL_GRACE_MS = 5_000;
/** Output lines kept for the error message of a failed step. */
const TAIL_LINES = 25;

/** Resolves when `child` has exited; on abort, TERMs its process group, then KILLs it. */
function superviseGroup(child: ChildProcess, signal: AbortSignal | undefined): Promise<number | null> {
  return new Promise((resolve, reject) => {
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
    };
    child.once('error', (error) => {
      done();
      reject(error);
    });
    child.once('close', (code) => {
      done();
      // Children of debootstrap (dpkg, chroot) may outlive it after a TERM: make sure none is left writing.
      if (signal?.aborted) killGroup('SIGKILL');
      resolve(code);
    });
  });
}

/**
 * Runs one step of a build in a process group of its own (so an abort stops
 * its children too), feeding its output lines to `onLine`; a failure carries
 * the last lines of output.
 */
export async function runBuildStep(
  command: string,
  args: readonly string[],
  options: {
    readonly what: string;
    readonly signal: AbortSignal | undefined;
    readonly hint: string;
    readonly onLine?: (line: string) => void;
  },
): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    options.onLine?.(line);
  };
  createInterface({ input: child.stdout }).on('line', remember);
  createInterface({ input: child.stderr }).on('line', remember);
  const code = await superviseGroup(child, options.signal);
  if (options.signal?.aborted) throw abortError(options.signal, options.what);
  if (code !== 0) {
    throw new CspecError(
      'CSPEC_IMAGE_BUILD_FAILED',
      `${options.what} failed (exit code ${code}):\n${tail.join('\n')}`,
      { hint: options.hint },
    );
  }
}

async function emptyDir(path: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(path);
  } catch {
    return;
  }
  await Promise.all(entries.map((e) => rm(join(path, e), { recursive: true, force: true })));
}

/** Leaves out what depends on the host or on the moment of the build. */
export async function tidy(dir: string): Promise<void> {
  // Package caches are not part of the image.
  await Promise.all([
    emptyDir(join(dir, 'var/cache/apt/archives')),
    emptyDir(join(dir, 'var/lib/apt/lists')),
  ]);
  await mkdir(join(dir, 'var/cache/apt/archives/partial'), { recursive: true });
  await mkdir(join(dir, 'var/lib/apt/lists/partial'), { recursive: true });
  // debootstrap copies the host's; containers get theirs bind-mounted over these (empty) files.
  await writeFile(join(dir, 'etc/hostname'), '');
  await writeFile(join(dir, 'etc/resolv.conf'), '');
}

/** Streams a GNU tar of `dir` (numeric owners, xattrs, sorted) into the blob store: its digest is the diff id. */
export async function tarIntoBlobs(dir: string, ctx: SourceContext): Promise<Descriptor> {
  const child = spawn('tar', ['--numeric-owner', '--xattrs', '--sort=name', '-cf', '-', '-C', dir, '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Read from the start: Node drains (and drops) a child's unread output when it exits, and a
  // small tree can be archived before the blob store has begun to read.
  const output = child.stdout.pipe(new PassThrough());
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const onAbort = () => child.kill('SIGKILL');
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  try {
    let descriptor: Descriptor;
    try {
      descriptor = await ctx.blobs.ingest(output);
    } catch (error) {
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
      throw error;
    }
    const code = await exited;
    if (code !== 0 || ctx.signal?.aborted) {
      await ctx.blobs.delete(descriptor.digest);
      if (ctx.signal?.aborted) throw abortError(ctx.signal, 'archiving the root filesystem');
      throw new CspecError(
        'CSPEC_IMAGE_BUILD_FAILED',
        `archiving the root filesystem failed (tar exit code ${code}): ${stderr.trim()}`,
      );
    }
    return descriptor;
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Archives `dir` as the image's one layer, writes its config and manifest, and
 * publishes `dir` as the layer directory (last, so a failure before leaves no
 * layer). The caller removes `dir` afterwards whatever happened.
 */
export async function publishTree(
  ctx: SourceContext,
  ref: ImageReference,
  dir: string,
  image: { readonly config: NonNullable<OciImageConfig['config']>; readonly createdBy: string },
): Promise<{ readonly manifestDigest: string }> {
  ctx.onProgress({ phase: 'commit', message: `storing ${ref.normalized}` });
  const layer = await tarIntoBlobs(dir, ctx);
  const created = new Date().toISOString();
  const config: OciImageConfig = {
    created,
    architecture: hostArchitecture(),
    os: 'linux',
    config: image.config,
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [{ created, created_by: image.createdBy }],
  };
  const manifest = await writeImage(ctx.blobs, config, [layer]);
  if (ctx.signal?.aborted) throw abortError(ctx.signal, `building ${ref.normalized}`);
  await ctx.layers.adoptDirectory(chainIds([layer.digest])[0]!, dir);
  return { manifestDigest: manifest.digest };
}
