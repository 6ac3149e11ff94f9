/**
 * Service images (`cspec/postgres:15`, `cspec/redis:7`, ...; see
 * service-recipes.ts) built on first use: the cached `cspec/debian:<suite>`
 * tree is copied, Debian's packages are installed into it with apt-get in a
 * chroot, and the result is stored as a one-layer image.
 *
 * The install runs in private mount and pid namespaces (`unshare`): its
 * /proc mount and any daemon a package starts end with it, and nothing is
 * mounted on the host. It shares the host's network, like debootstrap, to
 * reach the Debian mirror; `policy-rc.d` keeps services from starting.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { abortError, CspecError } from '../../errors.js';
import { chainIds } from '../../snapshot/chain-id.js';
import { removeTree } from '../../util/remove-tree.js';
import { tempPath } from '../../util/temp-path.js';
import { hostArchitecture, type OciImageConfig, writeImage } from '../oci.js';
import { type ImageSource, RECIPE_LABEL } from '../source.js';
import { superviseGroup, tarIntoBlobs, tidy } from './debian-bootstrap.js';
import { type BootstrapRecipe, SERVICE_RECIPES } from './service-recipes.js';

async function run(
  command: string,
  args: readonly string[],
  what: string,
  signal?: AbortSignal,
  onLine?: (l: string) => void,
) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 25) tail.shift();
    onLine?.(line);
  };
  createInterface({ input: child.stdout! }).on('line', remember);
  createInterface({ input: child.stderr! }).on('line', remember);
  const code = await superviseGroup(child, signal);
  if (signal?.aborted) throw abortError(signal, what);
  if (code !== 0) {
    throw new CspecError(
      'CSPEC_IMAGE_BUILD_FAILED',
      `${what} failed (exit code ${code}):\n${tail.join('\n')}`,
      {
        hint: 'check that the Debian mirror is reachable (CSPEC_DEBIAN_MIRROR)',
      },
    );
  }
}

/** Changes whenever the recipe does (packages, files, config, setup). */
export function recipeFingerprint(recipe: BootstrapRecipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

export function createServiceImageSource(): ImageSource {
  return {
    name: 'service-images',
    provides: (ref) => ref.domain === undefined && SERVICE_RECIPES[ref.normalized] !== undefined,
    check: () => {},
    fingerprint: (ref) => recipeFingerprint(SERVICE_RECIPES[ref.normalized]!),
    async build(ref, ctx) {
      const recipe = SERVICE_RECIPES[ref.normalized]!;
      const base = await ctx.resolve(`cspec/debian:${recipe.suite}`);
      await mkdir(ctx.tmpDir, { recursive: true });
      const dir = tempPath(ctx.tmpDir, `service-${ref.repository.replace(/\W/g, '-')}`);
      try {
        ctx.onProgress({
          phase: 'build',
          message: `${ref.normalized}: copying cspec/debian:${recipe.suite}`,
        });
        await mkdir(dir);
        await run(
          'cp',
          ['-a', '--reflink=auto', `${base.layerDirs[0]}/.`, dir],
          'copying the base image',
          ctx.signal,
        );

        // No service may start inside the build; DNS as on the host, for the mirror.
        await writeFile(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
        await copyFile('/etc/resolv.conf', join(dir, 'etc/resolv.conf')).catch(() => {});
        const script = [
          'set -e',
          'export DEBIAN_FRONTEND=noninteractive',
          'apt-get update -qq',
          `apt-get install -y -qq --no-install-recommends ${recipe.packages.join(' ')}`,
          recipe.setup ?? 'true',
        ].join('\n');
        ctx.onProgress({
          phase: 'build',
          message: `${ref.normalized}: installing ${recipe.packages.join(', ')}`,
        });
        await run(
          'unshare',
          [
            '--mount',
            '--propagation',
            'private',
            '--pid',
            '--fork',
            `--mount-proc=${join(dir, 'proc')}`,
            'chroot',
            dir,
            '/bin/sh',
            '-c',
            script,
          ],
          `installing ${recipe.packages.join(', ')} into ${ref.normalized}`,
          ctx.signal,
        );
        await rm(join(dir, 'usr/sbin/policy-rc.d'), { force: true });
        for (const file of recipe.files) {
          const target = join(dir, file.path);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, file.content);
          await chmod(target, file.mode);
        }
        await tidy(dir);

        ctx.onProgress({ phase: 'commit', message: `storing ${ref.normalized}` });
        const layer = await tarIntoBlobs(dir, ctx);
        const created = new Date().toISOString();
        const config: OciImageConfig = {
          created,
          architecture: hostArchitecture(),
          os: 'linux',
          config: {
            ...recipe.config,
            Labels: { ...(recipe.config.Labels ?? {}), [RECIPE_LABEL]: recipeFingerprint(recipe) },
          },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [
            {
              created,
              created_by: `cspec/debian:${recipe.suite} + apt-get install ${recipe.packages.join(' ')}`,
            },
          ],
        };
        const manifest = await writeImage(ctx.blobs, config, [layer]);
        if (ctx.signal?.aborted) throw abortError(ctx.signal, `building ${ref.normalized}`);
        await ctx.layers.adoptDirectory(chainIds([layer.digest])[0]!, dir);
        return { manifestDigest: manifest.digest };
      } finally {
        await removeTree(dir);
      }
    },
  };
}
