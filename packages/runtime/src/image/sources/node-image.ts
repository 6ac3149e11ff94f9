/**
 * `cspec/node:<version>[-<suite>]` (e.g. `cspec/node:22`,
 * `cspec/node:20-bullseye`): a Debian image (bookworm unless the tag names
 * another release) plus the official Node.js binary at /usr/local/bin/node,
 * taken from the npm package `node-linux-<arch>` (see node/node-release.ts).
 * One more layer on top of `cspec/debian:<suite>`, so all Node images share
 * the Debian layer on disk. Node only: no npm inside (install dependencies on
 * the host or COPY node_modules in).
 */
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CspecError } from '../../errors.js';
import { nodeRelease } from '../../node/node-release.js';
import { removeTree } from '../../util/remove-tree.js';
import { tempPath } from '../../util/temp-path.js';
import { type ImageSource, RECIPE_LABEL } from '../source.js';
import { DEBIAN_SUITES } from './debian-bootstrap.js';

const REPOSITORY = 'cspec/node';
const TAG = /^(\d{2,}(?:\.\d+){0,2})(?:-([a-z]+))?$/;
/** Bumped when what goes into the image changes. */
const RECIPE = 'node-image-1';

function parseTag(tag: string | undefined): { version: string; suite: string } {
  const match = TAG.exec(tag ?? '');
  const suite = match?.[2] ?? 'bookworm';
  if (!match || !(DEBIAN_SUITES as readonly string[]).includes(suite)) {
    throw new CspecError(
      'CSPEC_IMAGE_NOT_FOUND',
      `no image ${REPOSITORY}:${tag ?? 'latest'} — the tag is a Node version, optionally with a Debian release: e.g. 22, 22.12.0, 20-bullseye (releases: ${DEBIAN_SUITES.join(', ')})`,
      { hint: `use e.g. ${REPOSITORY}:22` },
    );
  }
  return { version: match[1]!, suite };
}

export function createNodeImageSource(options: { readonly dataDir: string }): ImageSource {
  return {
    name: 'node-images',
    provides: (ref) => ref.domain === undefined && ref.repository === REPOSITORY,
    check: (ref) => void parseTag(ref.tag),
    fingerprint: () => RECIPE,
    async build(ref, ctx) {
      const { version, suite } = parseTag(ref.tag);
      const base = `cspec/debian:${suite}`;
      const parent = await ctx.parentImage(base);
      ctx.onProgress({ phase: 'build', message: `${ref.normalized}: Node ${version} from npm` });
      const release = await nodeRelease({
        dataDir: options.dataDir,
        version,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        log: (message) => ctx.onProgress({ phase: 'build', message }),
      });
      await mkdir(ctx.tmpDir, { recursive: true });
      const tree = tempPath(ctx.tmpDir, 'node-image');
      try {
        await mkdir(join(tree, 'usr/local/bin'), { recursive: true });
        await copyFile(release.binary, join(tree, 'usr/local/bin/node'));
        await chmod(join(tree, 'usr/local/bin/node'), 0o755);
        const { deriveImage } = await import('../commit-image.js');
        const image = await deriveImage(ctx, parent, {
          upper: tree,
          createdBy: `${base} + node ${release.version} (npm package node-linux-${process.arch})`,
          config: (c) => ({
            ...c,
            Env: [
              'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
              `NODE_VERSION=${release.version}`,
            ],
            Cmd: ['node'],
            Labels: { ...(c.Labels ?? {}), [RECIPE_LABEL]: RECIPE },
          }),
        });
        return { manifestDigest: image.manifest.digest };
      } finally {
        await removeTree(tree);
      }
    },
  };
}
