/**
 * `cspec/debian:<suite>` images, built with debootstrap (minbase) from a
 * Debian mirror the first time they are asked for: one layer holding the
 * bootstrapped root filesystem, stored as an uncompressed tar blob (its
 * sha256 is the diff id) and published in the layer store by moving the
 * bootstrap directory itself (no second unpack).
 */
import { mkdir, rm } from 'node:fs/promises';
import { createDebug } from '../../debug.js';
import { CspecError } from '../../errors.js';
import { findExecutable } from '../../sandbox/detect-runtime.js';
import { mountsUnder, removeTree } from '../../util/remove-tree.js';
import { tempPath } from '../../util/temp-path.js';
import type { ImageReference } from '../reference.js';
import type { ImageSource, SourceContext } from '../source.js';
import { publishTree, runBuildStep, tidy } from './build-tree.js';

const debug = createDebug('cspec:image:debian');

export const DEBIAN_REPOSITORY = 'cspec/debian';
export const DEBIAN_SUITES = ['bullseye', 'bookworm', 'trixie'] as const;
const ALIASES: Readonly<Record<string, (typeof DEBIAN_SUITES)[number]>> = {
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
};

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface DebianBootstrapOptions {
  readonly mirror: string;
  /**
   * Build as an ordinary user: mmdebstrap in a user namespace of its own
   * (`--mode=unshare`) writes a tar, imported like `cspec image import`
   * (debootstrap needs root). @default false
   */
  readonly rootless?: boolean;
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
  let stage = '';
  await runBuildStep(binary, args, {
    what: `debootstrap of Debian ${suite}`,
    signal: ctx.signal,
    hint: `check that the mirror ${mirror} is reachable (set CSPEC_DEBIAN_MIRROR to use another)`,
    onLine: (line) => {
      const next = bootstrapStage(line);
      if (next && next !== stage) {
        stage = next;
        ctx.onProgress({ phase: 'bootstrap', message: `${suite}: ${stage}` });
      }
    },
  });
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
      if (options.rootless) return buildWithMmdebstrap(ref, suite, options.mirror, ctx);
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
        return await publishTree(ctx, ref, dir, {
          config: { Env: [PATH], Cmd: ['bash'] },
          createdBy: `debootstrap --variant=minbase ${suite} ${options.mirror}`,
        });
      } finally {
        // Unmounts whatever a killed debootstrap left mounted (proc, sys) before removing.
        await removeTree(dir);
      }
    },
  };
}

/**
 * Hooks of the rootless build: what `tidy` does for debootstrap's tree
 * (mmdebstrap empties the apt caches itself), inside mmdebstrap's namespace.
 */
const MMDEBSTRAP_HOOKS = [
  '--customize-hook=truncate -s 0 "$1/etc/hostname" "$1/etc/resolv.conf"',
  '--customize-hook=chmod 644 "$1/etc/hostname" "$1/etc/resolv.conf"',
];

async function buildWithMmdebstrap(
  ref: ImageReference,
  suite: string,
  mirror: string,
  ctx: SourceContext,
): Promise<{ readonly manifestDigest: string }> {
  const binary = findExecutable('mmdebstrap');
  if (!binary) {
    throw new CspecError(
      'CSPEC_HOST_UNSUPPORTED',
      `building ${ref.normalized} as an ordinary user needs mmdebstrap, which is not installed`,
      { hint: 'sudo apt-get install -y mmdebstrap (debootstrap needs root)' },
    );
  }
  await mkdir(ctx.tmpDir, { recursive: true });
  const tar = `${tempPath(ctx.tmpDir, `mmdebstrap-${suite}`)}.tar`;
  try {
    ctx.onProgress({
      phase: 'bootstrap',
      message: `building ${ref.normalized} with mmdebstrap (first use only)`,
    });
    const args = ['--mode=unshare', '--variant=minbase', ...MMDEBSTRAP_HOOKS, suite, tar, mirror];
    debug('running %s %s', binary, args.join(' '));
    let stage = '';
    await runBuildStep(binary, args, {
      what: `mmdebstrap of Debian ${suite}`,
      signal: ctx.signal,
      hint: `check that the mirror ${mirror} is reachable (set CSPEC_DEBIAN_MIRROR to use another), and that \`cspec doctor\` finds user namespaces and your subordinate ids`,
      onLine: (line) => {
        const next = mmdebstrapStage(line);
        if (next && next !== stage) {
          stage = next;
          ctx.onProgress({ phase: 'bootstrap', message: `${suite}: ${stage}` });
        }
      },
    });
    ctx.onProgress({ phase: 'commit', message: `storing ${ref.normalized}` });
    // Loaded on first use: importing (and its tar reader) is not part of every engine's start.
    const { importRootfs } = await import('../import-image.js');
    return await importRootfs(ctx, tar, {
      cmd: ['bash'],
      createdBy: `mmdebstrap --mode=unshare --variant=minbase ${suite} ${mirror}`,
    });
  } finally {
    await rm(tar, { force: true });
  }
}

const MMDEBSTRAP_STAGES: readonly [RegExp, string][] = [
  [/^I: running apt-get update/, 'fetching the package index'],
  [/^I: downloading packages/, 'downloading packages'],
  [/^I: extracting archives/, 'extracting packages'],
  [/^I: installing (essential|remaining) packages/, 'installing packages'],
  [/^I: creating tarball/, 'archiving the root filesystem'],
];

/** The few stages of mmdebstrap's "I:" lines, for progress. */
export function mmdebstrapStage(line: string): string | undefined {
  return MMDEBSTRAP_STAGES.find(([pattern]) => pattern.test(line))?.[1];
}
