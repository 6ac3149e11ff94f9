/**
 * `cspec/debian:<suite>` images, built with debootstrap (minbase) from a
 * Debian mirror the first time they are asked for: one layer holding the
 * bootstrapped root filesystem, stored as an uncompressed tar blob (its
 * sha256 is the diff id) and published in the layer store by moving the
 * bootstrap directory itself (no second unpack).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Descriptor } from '../../content/blob-store.js';
import { createDebug } from '../../debug.js';
import { abortError, CspecError } from '../../errors.js';
import { findExecutable } from '../../sandbox/detect-runtime.js';
import { chainIds } from '../../snapshot/chain-id.js';
import { mountsUnder, removeTree } from '../../util/remove-tree.js';
import { tempPath } from '../../util/temp-path.js';
import { hostArchitecture, type OciImageConfig, writeImage } from '../oci.js';
import type { ImageReference } from '../reference.js';
import type { ImageSource, SourceContext } from '../source.js';

const debug = createDebug('cspec:image:debian');

export const DEBIAN_REPOSITORY = 'cspec/debian';
export const DEBIAN_SUITES = ['bullseye', 'bookworm', 'trixie'] as const;
const ALIASES: Readonly<Record<string, (typeof DEBIAN_SUITES)[number]>> = {
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
};

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** How long debootstrap gets to exit after SIGTERM before the whole group is SIGKILLed. */
const KILL_GRACE_MS = 5_000;

export interface DebianBootstrapOptions {
  readonly mirror: string;
  /** The debootstrap binary (name looked up in the usual sbin/bin dirs, or a path). @default 'debootstrap' */
  readonly debootstrapPath?: string;
}

function suiteOf(ref: ImageReference): string {
  const tag = ref.tag ?? '';
  const suite = (DEBIAN_SUITES as readonly string[]).includes(tag) ? tag : ALIASES[tag];
  if (!suite || ref.digest) {
    throw new CspecError(
      'CSPEC_IMAGE_NOT_FOUND',
      `image "${ref.normalized}" does not exist: cspec builds ${DEBIAN_SUITES.map((s) => `${DEBIAN_REPOSITORY}:${s}`).join(', ')} (or :11, :12, :13), not by digest`,
      { hint: `use e.g. ${DEBIAN_REPOSITORY}:bookworm` },
    );
  }
  return suite;
}

/** Resolves when `child` has exited; on abort, TERMs its process group, then KILLs it. */
export function superviseGroup(child: ChildProcess, signal: AbortSignal | undefined): Promise<number | null> {
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

const STAGES: readonly [RegExp, string][] = [
  [/^I: (Retrieving|Validating) (InRelease|Release|Packages)/, 'fetching the package index'],
  [/^I: (Retrieving|Validating) /, 'downloading packages'],
  [/^I: (Extracting|Chosen extractor)/, 'extracting packages'],
  [/^I: Installing core/, 'installing core packages'],
  [/^I: Unpacking/, 'unpacking packages'],
  [/^I: Configuring/, 'configuring packages'],
  [/^I: Base system installed/, 'base system installed'],
];

/** Condenses debootstrap's hundreds of "I:" lines into a few stages for progress. */
export function bootstrapStage(line: string): string | undefined {
  return STAGES.find(([pattern]) => pattern.test(line))?.[1];
}

async function runDebootstrap(
  binary: string,
  suite: string,
  dir: string,
  mirror: string,
  ctx: SourceContext,
): Promise<void> {
  const args = ['--variant=minbase', suite, dir, mirror];
  debug('running %s %s', binary, args.join(' '));
  // Own process group, so an abort stops dpkg and friends too, not only the shell script.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  let stage = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    remember(line);
    const next = bootstrapStage(line);
    if (next && next !== stage) {
      stage = next;
      ctx.onProgress({ phase: 'bootstrap', message: `${suite}: ${stage}` });
    }
  });
  createInterface({ input: child.stderr }).on('line', remember);
  const code = await superviseGroup(child, ctx.signal);
  if (ctx.signal?.aborted) throw abortError(ctx.signal, `building cspec/debian:${suite}`);
  if (code !== 0) {
    throw new CspecError(
      'CSPEC_IMAGE_BUILD_FAILED',
      `debootstrap of Debian ${suite} failed (exit code ${code}):\n${tail.join('\n')}`,
      { hint: `check that the mirror ${mirror} is reachable (set CSPEC_DEBIAN_MIRROR to use another)` },
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
      descriptor = await ctx.blobs.ingest(child.stdout);
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

export function createDebianBootstrapSource(options: DebianBootstrapOptions): ImageSource {
  return {
    name: 'debian-bootstrap',
    provides: (ref) => ref.domain === undefined && ref.repository === DEBIAN_REPOSITORY,
    check: (ref) => {
      suiteOf(ref);
    },
    canonical(ref) {
      const suite = suiteOf(ref);
      return suite === ref.tag ? undefined : `${DEBIAN_REPOSITORY}:${suite}`;
    },
    async build(ref, ctx) {
      const suite = suiteOf(ref);
      const binary = findExecutable(options.debootstrapPath ?? 'debootstrap');
      if (!binary) {
        throw new CspecError(
          'CSPEC_HOST_UNSUPPORTED',
          `building ${ref.normalized} needs debootstrap, which is not installed`,
          { hint: 'apt-get install -y debootstrap' },
        );
      }
      await mkdir(ctx.tmpDir, { recursive: true });
      const dir = tempPath(ctx.tmpDir, `debootstrap-${suite}`);
      try {
        ctx.onProgress({
          phase: 'bootstrap',
          message: `building ${ref.normalized} with debootstrap (first use only)`,
        });
        await runDebootstrap(binary, suite, dir, options.mirror, ctx);
        const leftovers = await mountsUnder(dir);
        if (leftovers.length) {
          throw new CspecError(
            'CSPEC_IMAGE_BUILD_FAILED',
            `debootstrap left mounts behind: ${leftovers.join(', ')}`,
          );
        }
        await tidy(dir);
        ctx.onProgress({ phase: 'commit', message: `storing ${ref.normalized}` });
        const layer = await tarIntoBlobs(dir, ctx);
        const created = new Date().toISOString();
        const config: OciImageConfig = {
          created,
          architecture: hostArchitecture(),
          os: 'linux',
          config: { Env: [PATH], Cmd: ['bash'] },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [{ created, created_by: `debootstrap --variant=minbase ${suite} ${options.mirror}` }],
        };
        const manifest = await writeImage(ctx.blobs, config, [layer]);
        // Last step, so a failure before it leaves no layer directory.
        if (ctx.signal?.aborted) throw abortError(ctx.signal, `building ${ref.normalized}`);
        const [chainId] = chainIds([layer.digest]);
        await ctx.layers.adoptDirectory(chainId as string, dir);
        return { manifestDigest: manifest.digest };
      } finally {
        // Unmounts whatever a killed debootstrap left mounted (proc, sys) before removing.
        await removeTree(dir);
      }
    },
  };
}
