/**
 * `image load` and `image import` with archives made here, byte by byte: OCI
 * layouts (with a multi-platform index and gzip layers), docker-archives, and
 * the broken ones. A failure must leave no tag, layer or temp entry.
 */
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { createImageStore, type ImageStore } from '../../packages/runtime/src/image/image-store.js';
import { hostArchitecture } from '../../packages/runtime/src/image/oci.js';
import { ensureLayerLinks } from '../../packages/runtime/src/snapshot/layer-links.js';
import { digest, dockerArchive, imageConfig, tarOf } from '../support/archives.js';

const blobName = (d: string) => `blobs/sha256/${d.slice(7)}`;

/** An OCI layout in a tar: an index with an image for this host and one for another architecture. */
async function ociArchive(layers: Buffer[], options: { corruptLayer?: boolean } = {}) {
  const plain = layers;
  const gz = plain.map((l) => gzipSync(l));
  const config = imageConfig(plain.map((l) => digest(l)));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: digest(config),
        size: config.length,
      },
      layers: gz.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: digest(l),
        size: l.length,
      })),
    }),
  );
  const otherArch = hostArchitecture() === 'arm64' ? 'amd64' : 'arm64';
  const nested = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: digest(manifest),
          size: manifest.length,
          platform: { os: 'linux', architecture: hostArchitecture() },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${'0'.repeat(64)}`,
          size: 1,
          platform: { os: 'linux', architecture: otherArch },
        },
      ],
    }),
  );
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: digest(nested),
        size: nested.length,
        annotations: { 'io.containerd.image.name': 'example.test/oci/app:1' },
      },
    ],
  };
  const stored = gz.map((l) => (options.corruptLayer ? Buffer.concat([l, Buffer.from('x')]) : l));
  return tarOf([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: JSON.stringify(index) },
    { name: blobName(digest(nested)), content: nested },
    { name: blobName(digest(manifest)), content: manifest },
    { name: blobName(digest(config)), content: config },
    ...stored.map((l, i) => ({ name: blobName(digest(gz[i]!)), content: l })),
  ]);
}

const DOCKER_TAG = 'example.test/docker/app:2';

describe('loading image archives', () => {
  let dir: string;
  let store: ImageStore;
  const write = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  const nothingLeft = async () => {
    expect(await readdir(join(dir, 'data', 'tmp')).catch(() => [])).toEqual([]);
    expect(await readdir(join(dir, 'data', 'layers')).catch(() => [])).toEqual([]);
    expect(await store.list()).toEqual([]);
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-archive-'));
    store = createImageStore(resolveConfig({ dataDir: join(dir, 'data') }));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const base = () =>
    tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', content: 'ID=test\n' },
      { name: 'etc/old', content: 'old' },
    ]);
  const top = () =>
    tarOf([
      { name: 'etc/.wh.old', content: '' },
      { name: 'app/run.sh', content: 'echo hi\n' },
    ]);

  it('loads an OCI archive: picks this platform from a nested index, gunzips, honours whiteouts', async () => {
    const [l1, l2] = [await base(), await top()];
    const loaded = await store.load(await write('oci.tar', await ociArchive([l1, l2])));
    expect(loaded).toHaveLength(1);
    expect(loaded[0]!.references).toEqual(['example.test/oci/app:1']);
    const image = await store.resolve('example.test/oci/app:1');
    expect(image.id).toBe(loaded[0]!.id);
    expect(image.config.cmd).toEqual(['sh']);
    expect(image.layerDirs).toHaveLength(2);
    expect(await readFile(join(image.layerDirs[1]!, 'app/run.sh'), 'utf8')).toBe('echo hi\n');
    expect((await lstat(join(image.layerDirs[1]!, 'etc/old'))).isCharacterDevice()).toBe(true);
    // A second load reuses what is there.
    await store.load(await write('oci-again.tar', await ociArchive([l1, l2])));
    expect((await store.resolve('example.test/oci/app:1')).layerDirs).toEqual(image.layerDirs);
  });

  it('loads a docker-archive and tags it with its RepoTags', async () => {
    const loaded = await store.load(
      await write('docker.tar', await dockerArchive([await base(), await top()], { repoTag: DOCKER_TAG })),
    );
    expect(loaded[0]!.references).toEqual(['example.test/docker/app:2']);
    expect((await store.resolve('example.test/docker/app:2')).layerDirs).toHaveLength(2);
  });

  it('saves images to an archive that loads back with the same ids', async () => {
    const [l1, l2] = [await base(), await top()];
    const [oci] = await store.load(await write('oci.tar', await ociArchive([l1, l2])));
    const [docker] = await store.load(
      await write('docker.tar', await dockerArchive([l1], { repoTag: DOCKER_TAG })),
    );
    const saved = join(dir, 'saved.tar');
    await store.save(['example.test/oci/app:1', 'example.test/docker/app:2'], saved);
    const other = createImageStore(resolveConfig({ dataDir: join(dir, 'other') }));
    const loaded = await other.load(saved);
    expect(loaded).toEqual([
      { id: oci!.id, references: ['example.test/oci/app:1'] },
      { id: docker!.id, references: ['example.test/docker/app:2'] },
    ]);
    const again = await other.resolve('example.test/oci/app:1');
    expect(await readFile(join(again.layerDirs[1]!, 'app/run.sh'), 'utf8')).toBe('echo hi\n');

    const missing = await store.save(['example.test/nope:1'], join(dir, 'nope.tar')).catch((e: unknown) => e);
    expect(isCspecError(missing, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    expect(await readdir(dir)).not.toContain('nope.tar');
  });

  it('prune removes what no tag or container needs, keeps shared layers, recent writes and layers in use', async () => {
    const [l1, l2] = [await base(), await top()];
    await store.load(await write('oci.tar', await ociArchive([l1, l2])));
    await store.load(await write('docker.tar', await dockerArchive([l1], { repoTag: DOCKER_TAG })));
    const ociLayers = (await store.resolve('example.test/oci/app:1')).layerDirs;
    // Their short links (made by the first mount) go with the layers.
    const links = await ensureLayerLinks(ociLayers);
    await store.remove('example.test/oci/app:1');
    // Just written: the grace period keeps it all.
    expect(await store.prune({ layerDirsInUse: new Set() })).toEqual({
      blobsRemoved: 0,
      layersRemoved: 0,
      bytesFreed: 0,
    });
    // A container still using the top layer keeps it.
    const kept = await store.prune({ layerDirsInUse: new Set([ociLayers[1]!]), graceMs: 0 });
    expect(kept.layersRemoved).toBe(0);
    expect(kept.blobsRemoved).toBe(4); // the OCI manifest, config and two gzip layers
    const report = await store.prune({ layerDirsInUse: new Set(), graceMs: 0 });
    expect(report.layersRemoved).toBe(1);
    expect(report.bytesFreed).toBeGreaterThan(0);
    expect((await store.resolve('example.test/docker/app:2')).layerDirs).toEqual([ociLayers[0]]);
    expect(await store.usage()).toMatchObject({ images: 1, layers: 1 });
    expect(await readdir(join(dir, 'data', 'l'))).toEqual([basename(links[0]!)]);
  });

  it('imports a root filesystem tar as a one-layer image', async () => {
    const image = await store.importRootfs(await write('rootfs.tar', await base()), 'example.test/rootfs:1', {
      cmd: ['cat', '/etc/os-release'],
    });
    const resolved = await store.resolve('example.test/rootfs:1');
    expect(resolved.id).toBe(image.id);
    expect(resolved.config.cmd).toEqual(['cat', '/etc/os-release']);
    expect(await readFile(join(resolved.layerDirs[0]!, 'etc/os-release'), 'utf8')).toBe('ID=test\n');
  });

  it.each([
    [
      'an entry that climbs out of the archive',
      async () => tarOf([{ name: '../evil', content: 'x' }]),
      /outside the image/,
    ],
    [
      'a layer whose bytes do not match its digest',
      async () => ociArchive([await base()], { corruptLayer: true }),
      /does not match its digest/,
    ],
    [
      'a layer that does not match the config',
      async () => dockerArchive([await base()], { repoTag: DOCKER_TAG, diffIds: [digest('something else')] }),
      /does not match the image config/,
    ],
    [
      'a layer with "../" entries',
      async () =>
        dockerArchive([await tarOf([{ name: 'a/../../x', content: 'x' }])], { repoTag: DOCKER_TAG }),
      /outside the image/,
    ],
    [
      'an entry written through one of its own symbolic links',
      async () =>
        tarOf([
          { name: 'out', type: 'symlink', linkname: dir },
          { name: 'out/escaped', content: 'x' },
        ]),
      /through the symbolic link/,
    ],
    [
      'neither manifest.json nor index.json',
      async () => tarOf([{ name: 'README', content: 'hi' }]),
      /neither manifest.json/,
    ],
    [
      'not a tar at all',
      async () => Buffer.from('plain text, not an archive\n'.repeat(50)),
      /cannot read it as a tar archive/,
    ],
  ])('refuses %s with a clear error and keeps nothing', async (_what, make, message) => {
    const error = await store.load(await write('bad.tar', await make())).catch((e: unknown) => e);
    expect(isCspecError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    await nothingLeft();
    expect(await readdir(dir)).not.toContain('escaped');
  });

  it('says which file is missing', async () => {
    const error = await store.load(join(dir, 'nope.tar')).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toContain('nope.tar');
    const imported = await store.importRootfs(join(dir, 'nope.tar'), 'x/y:1').catch((e: unknown) => e);
    expect(isCspecError(imported, 'CSPEC_INVALID_SPEC')).toBe(true);
    await nothingLeft();
  });
});
