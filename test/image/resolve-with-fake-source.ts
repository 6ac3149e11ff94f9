/**
 * Resolves `cspec/fake:<tag>` in a store whose only extra source is a slow fake
 * that appends to `<dataDir>/builds.log` each time it builds; prints the image.
 * Usage: node --import tsx --conditions cspec-source resolve-with-fake-source.ts DATA_DIR TAG
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import { writeImage } from '../../packages/runtime/src/image/oci.js';
import type { ImageSource } from '../../packages/runtime/src/image/source.js';
import { chainIds } from '../../packages/runtime/src/snapshot/chain-id.js';
import { tempPath } from '../../packages/runtime/src/util/temp-path.js';

const [dataDir = '', tag = 'one'] = process.argv.slice(2);

const fake: ImageSource = {
  name: 'fake',
  provides: (ref) => ref.repository === 'cspec/fake',
  check: () => {},
  async build(ref, ctx) {
    await appendFile(join(dataDir, 'builds.log'), `${process.pid}\n`);
    const dir = tempPath(ctx.tmpDir, 'fake');
    try {
      await mkdir(join(dir, 'etc'), { recursive: true });
      await writeFile(join(dir, 'etc', 'fake'), `${ref.tag}\n`);
      // Long enough for the other process to find the lock taken.
      await new Promise((r) => setTimeout(r, 500));
      const layer = await ctx.blobs.ingest(Readable.from([Buffer.from(`layer of ${ref.normalized}`)]));
      const manifest = await writeImage(
        ctx.blobs,
        { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } },
        [layer],
      );
      await ctx.layers.adoptDirectory(chainIds([layer.digest])[0] as string, dir);
      return { manifestDigest: manifest.digest };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

const store = createImageStore(resolveConfig({ dataDir }), { sources: [fake] });
const image = await store.resolve(`cspec/fake:${tag}`);
process.stdout.write(`${JSON.stringify(image)}\n`);
