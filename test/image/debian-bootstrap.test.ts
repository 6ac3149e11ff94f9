import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import type { OciImageConfig, OciManifest } from '../../packages/runtime/src/image/oci.js';
import type { ImageProgress, ResolvedImage } from '../../packages/runtime/src/image/types.js';
import { mountsUnder, removeTree } from '../../packages/runtime/src/util/remove-tree.js';

const run = promisify(execFile);
const dataDir = process.env.CSPEC_TEST_DATA_DIR ?? '/var/lib/cspec-test';
const config = (dir = dataDir) => resolveConfig({ dataDir: dir });
const entries = (dir: string) => readdir(dir).catch(() => [] as string[]);

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** debootstrap (and its dpkg, chroot) processes working under `dir`. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function expectNothingLeftIn(dir: string): Promise<void> {
  expect(await entries(join(dir, 'tmp'))).toEqual([]);
  expect(await entries(join(dir, 'locks'))).toEqual([]);
  expect(await mountsUnder(dir)).toEqual([]);
  expect(processesUnder(dir)).toEqual([]);
}

describe('cspec/debian images built with debootstrap', () => {
  it('builds cspec/debian:bookworm once and serves it from the cache afterwards', async () => {
    const store = createImageStore(config());
    const events: ImageProgress[] = [];
    // Cold on a fresh machine (~30-40 s of debootstrap), warm when an earlier run built it.
    const first = await store.resolve('cspec/debian:bookworm', { onProgress: (e) => events.push(e) });
    const built = events.some((e) => e.phase === 'bootstrap');
    if (built) {
      expect(events.some((e) => /^bookworm: /.test(e.message))).toBe(true);
      expect(events.at(-1)?.phase).toBe('done');
    }

    // A second store, as another process would open it: served from disk, debootstrap does not run.
    const warmEvents: ImageProgress[] = [];
    const warm = await createImageStore(config()).resolve('cspec/debian:bookworm', {
      onProgress: (e) => warmEvents.push(e),
    });
    expect(warmEvents).toEqual([{ phase: 'cached', message: 'cspec/debian:bookworm is in the cache' }]);
    expect(warm).toEqual(first);

    expect(first.reference).toBe('cspec/debian:bookworm');
    expect(first.config).toEqual({
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cmd: ['bash'],
    });
    expect(first.layerDirs).toHaveLength(1);
    const fs = first.layerDirs[0] as string;
    expect(fs).toMatch(new RegExp(`^${dataDir}/layers/[a-f0-9]{16}/fs$`));
    expect(await readFile(join(fs, 'etc/debian_version'), 'utf8')).toMatch(/^12\./);
    expect(await readFile(join(fs, 'etc/hostname'), 'utf8')).toBe('');
    expect((await entries(join(fs, 'var/cache/apt/archives'))).filter((n) => n.endsWith('.deb'))).toEqual([]);
    expect(await entries(join(fs, 'var/lib/apt/lists'))).toEqual(['partial']);
    expect(await entries(join(fs, 'proc'))).toEqual([]);

    // The stored documents: OCI manifest -> config (the image id) -> one uncompressed layer whose digest is its diff id.
    await assertStoredImage(first);
    await expectNothingLeftIn(dataDir);
  });

  it('rejects an unknown suite without touching the store', async () => {
    const store = createImageStore(config());
    const error = await store.resolve('cspec/debian:potato').catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toMatch(
      /cspec\/debian:bullseye, cspec\/debian:bookworm, cspec\/debian:trixie/,
    );
    expect((await store.list()).map((i) => i.reference)).not.toContain('cspec/debian:potato');
    await expectNothingLeftIn(dataDir);
  });

  it('stops debootstrap when aborted and leaves no process, mount or file behind', async () => {
    const scratch = await mkdtemp(join(dataDir, '..', 'cspec-abort-test-'));
    try {
      const controller = new AbortController();
      const events: ImageProgress[] = [];
      let mountedAtAbort: string[] = [];
      // Abort while packages are unpacked: debootstrap has proc mounted in the target by then.
      const error = await createImageStore(config(scratch))
        .resolve('cspec/debian:bookworm', {
          signal: controller.signal,
          onProgress: async (e) => {
            events.push(e);
            if (!controller.signal.aborted && /unpacking packages/.test(e.message)) {
              mountedAtAbort = await mountsUnder(scratch);
              controller.abort();
            }
          },
        })
        .catch((e: unknown) => e);
      expect(isCspecError(error, 'CSPEC_ABORTED')).toBe(true);
      expect(mountedAtAbort.some((m) => m.endsWith('/proc'))).toBe(true);
      await expectNothingLeftIn(scratch);
      expect(await entries(join(scratch, 'layers'))).toEqual([]);
      expect(await entries(join(scratch, 'repositories'))).toEqual([]);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('builds once when two processes resolve the same missing image at once', async () => {
    const scratch = await mkdtemp(join(dataDir, '..', 'cspec-race-test-'));
    try {
      const script = fileURLToPath(new URL('./resolve-with-fake-source.ts', import.meta.url));
      const resolveInChild = () =>
        run(process.execPath, ['--import', 'tsx', '--conditions', 'cspec-source', script, scratch, 'race']);
      const [a, b] = await Promise.all([resolveInChild(), resolveInChild()]);
      const images = [a, b].map((r) => JSON.parse(r.stdout) as ResolvedImage);
      expect(images[0]).toEqual(images[1]);
      expect(images[0]?.reference).toBe('cspec/fake:race');
      expect((await readFile(join(scratch, 'builds.log'), 'utf8')).trim().split('\n')).toHaveLength(1);
      await expectNothingLeftIn(scratch);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('removeTree', () => {
  it('detaches file systems mounted inside the tree before removing it', async () => {
    const scratch = await mkdtemp(join(dataDir, '..', 'cspec-remove-tree-test-'));
    try {
      await mkdir(join(scratch, 'rootfs', 'proc'), { recursive: true });
      await mkdir(join(scratch, 'rootfs', 'run'), { recursive: true });
      await run('mount', ['-t', 'proc', 'proc', join(scratch, 'rootfs', 'proc')]);
      await run('mount', ['-t', 'tmpfs', 'tmpfs', join(scratch, 'rootfs', 'run')]);
      await writeFile(join(scratch, 'rootfs', 'run', 'file'), 'x');
      expect(await mountsUnder(scratch)).toHaveLength(2);
      await removeTree(join(scratch, 'rootfs'));
      expect(await mountsUnder(scratch)).toEqual([]);
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      for (const point of await mountsUnder(scratch)) await run('umount', ['--lazy', point]);
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

async function assertStoredImage(image: ResolvedImage): Promise<void> {
  const tags = await readdir(join(dataDir, 'repositories'));
  let manifestDigest: string | undefined;
  for (const name of tags) {
    const tag = JSON.parse(await readFile(join(dataDir, 'repositories', name), 'utf8'));
    if (tag.reference === image.reference) manifestDigest = tag.manifestDigest;
  }
  expect(manifestDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
  const blob = (digest: string) => join(dataDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(manifestDigest as string), 'utf8')) as OciManifest;
  expect(manifest).toMatchObject({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.id },
  });
  const imageConfig = JSON.parse(await readFile(blob(image.id), 'utf8')) as OciImageConfig;
  expect(imageConfig).toMatchObject({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });
  expect(imageConfig.history?.[0]?.created_by).toMatch(/^debootstrap --variant=minbase bookworm /);
  const [layer] = manifest.layers;
  expect(manifest.layers).toHaveLength(1);
  expect(layer?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  expect(imageConfig.rootfs.diff_ids).toEqual([layer?.digest]);
  expect(await sha256File(blob(layer?.digest as string))).toBe(layer?.digest);
  const { stdout } = await run('tar', ['-tf', blob(layer?.digest as string), './etc/debian_version']);
  expect(stdout.trim()).toBe('./etc/debian_version');
  const [summary] = (await createImageStore(config()).list()).filter((i) => i.reference === image.reference);
  expect(summary).toMatchObject({ id: image.id, sizeBytes: layer?.size, created: imageConfig.created });
}
