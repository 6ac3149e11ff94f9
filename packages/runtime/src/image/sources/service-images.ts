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
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { removeTree } from '../../util/remove-tree.js';
import { tempPath } from '../../util/temp-path.js';
import { type ImageSource, RECIPE_LABEL } from '../source.js';
import { publishTree, runBuildStep, tidy } from './build-tree.js';
import { type BootstrapRecipe, SERVICE_RECIPES } from './service-recipes.js';

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
        await runBuildStep('cp', ['-a', '--reflink=auto', `${base.layerDirs[0]}/.`, dir], {
          what: 'copying the base image',
          signal: ctx.signal,
          hint: `check free space under ${ctx.tmpDir}`,
        });

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
        await runBuildStep(
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
          {
            what: `installing ${recipe.packages.join(', ')} into ${ref.normalized}`,
            signal: ctx.signal,
            hint: 'check that the Debian mirror is reachable (CSPEC_DEBIAN_MIRROR)',
          },
        );
        await rm(join(dir, 'usr/sbin/policy-rc.d'), { force: true });
        for (const file of recipe.files) {
          const target = join(dir, file.path);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, file.content);
          await chmod(target, file.mode);
        }
        await tidy(dir);

        return await publishTree(ctx, ref, dir, {
          config: {
            ...recipe.config,
            Labels: { ...(recipe.config.Labels ?? {}), [RECIPE_LABEL]: recipeFingerprint(recipe) },
          },
          createdBy: `cspec/debian:${recipe.suite} + apt-get install ${recipe.packages.join(' ')}`,
        });
      } finally {
        await removeTree(dir);
      }
    },
  };
}
