/**
 * `cspec/debian:<suite>` images, built with debootstrap (minbase) from a
 * Debian mirror the first time they are asked for: one layer holding the
 * bootstrapped root filesystem, stored as an uncompressed tar blob and
 * unpacked (in place: the bootstrap directory itself becomes the layer).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CspecError } from '../../errors.js';
import { findExecutable } from '../../sandbox/detect-runtime.js';
import { chainIds } from '../../snapshot/layer-store.js';
import { tempPath } from '../../util/temp-path.js';
import { MEDIA_TYPES, type OciImageConfig, type OciManifest } from '../oci.js';
import type { ImageReference } from '../reference.js';
import type { ImageSource, SourceContext } from '../source.js';

export const DEBIAN_SUITES: Readonly<Record<string, string>> = {
  bullseye: 'bullseye',
  '11': 'bullseye',
  bookworm: 'bookworm',
  '12': 'bookworm',
  trixie: 'trixie',
  '13': 'trixie',
};

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function suiteOf(ref: ImageReference): string {
  const suite = DEBIAN_SUITES[ref.tag ?? ''];
  if (!suite || ref.digest) {
    throw new CspecError(
      'CSPEC_IMAGE_NOT_FOUND',
      `image "${ref.normalized}" does not exist: cspec builds cspec/debian:bullseye, cspec/debian:bookworm and cspec/debian:trixie (or :11, :12, :13)`,
    );
  }
  return suite;
}

function runDebootstrap(
  binary: string,
  suite: string,
  dir: string,
  mirror: string,
  ctx: SourceContext,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--variant=minbase', suite, dir, mirror], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const tail: string[] = [];
    const remember = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      if (line.startsWith('I: ')) ctx.onProgress({ phase: 'bootstrap', message: `${suite}: ${line.slice(3)}` });
    });
    createInterface({ input: child.stderr }).on('line', remember);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      if (ctx.signal?.aborted) return reject(ctx.signal.reason);
      reject(
        new CspecError(
          'CSPEC_IMAGE_BUILD_FAILED',
          `debootstrap of Debian ${suite} failed (${signal ?? `exit code ${code}`}):\n${tail.join('\n')}`,
          { hint: `check that the mirror ${mirror} is reachable (set CSPEC_DEBIAN_MIRROR to use another)` },
        ),
      );
    });
  });
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

/** Streams `tar` of a directory (numeric owners, xattrs, sorted) into the blob store. */
async function tarIntoBlobs(dir: string, ctx: SourceContext) {
  const child = spawn('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--sort=name', '-cf', '-', '-C', dir, '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const descriptor = await ctx.blobs.ingest(child.stdout);
  const code = await exited;
  if (code !== 0) {
    await ctx.blobs.delete(descriptor.digest);
    throw new CspecError('CSPEC_IMAGE_BUILD_FAILED', `archiving the root filesystem failed: ${stderr.trim()}`);
  }
  return descriptor;
}

export function createDebianBootstrapSource(options: { readonly mirror: string }): ImageSource {
  return {
    name: 'debian-bootstrap',
    provides: (ref) => ref.domain === undefined && ref.repository === 'cspec/debian',
    check: (ref) => {
      suiteOf(ref);
    },
    async build(ref, ctx) {
      const suite = suiteOf(ref);
      const binary = findExecutable('debootstrap');
      if (!binary) {
        throw new CspecError('CSPEC_HOST_UNSUPPORTED', `building ${ref.normalized} needs debootstrap, which is not installed`, {
          hint: 'apt-get install -y debootstrap',
        });
      }
      await mkdir(ctx.tmpDir, { recursive: true });
      const dir = tempPath(ctx.tmpDir, `debootstrap-${suite}`);
      try {
        ctx.onProgress({ phase: 'bootstrap', message: `building ${ref.normalized} with debootstrap (first use only)` });
        await runDebootstrap(binary, suite, dir, options.mirror, ctx);
        // Package caches are not part of the image.
        await Promise.all([emptyDir(join(dir, 'var/cache/apt/archives')), emptyDir(join(dir, 'var/lib/apt/lists'))]);
        await mkdir(join(dir, 'var/cache/apt/archives/partial'), { recursive: true });
        await mkdir(join(dir, 'var/lib/apt/lists/partial'), { recursive: true });
        ctx.onProgress({ phase: 'commit', message: `storing ${ref.normalized}` });
        const layer = await tarIntoBlobs(dir, ctx);
        const [chainId] = chainIds([layer.digest]);
        await ctx.layers.adoptDirectory(chainId!, dir);
        const created = new Date().toISOString();
        const config: OciImageConfig = {
          created,
          architecture: 'amd64',
          os: 'linux',
          config: { Env: [PATH], Cmd: ['bash'] },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [{ created, created_by: `debootstrap --variant=minbase ${suite} ${options.mirror}` }],
        };
        const configBlob = await ctx.blobs.putJson(config);
        const manifest: OciManifest = {
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.manifest,
          config: { mediaType: MEDIA_TYPES.config, ...configBlob },
          layers: [{ mediaType: MEDIA_TYPES.layerTar, ...layer }],
        };
        const manifestBlob = await ctx.blobs.putJson(manifest);
        return { manifestDigest: manifestBlob.digest };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
