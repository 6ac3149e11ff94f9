/**
 * Pull and push against a real registry (Debian's docker-registry on
 * 127.0.0.1, started here): cspec's own push, then pulls into fresh stores —
 * the Debian base image run after a pull, a multi-platform index, zstd layers
 * copied in by skopeo, pulls twice, and the failures: corrupt blobs, a cut
 * connection, an unreachable registry, an aborted pull. Each failure leaves
 * no tag, layer or temp entry.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageStore, type ImageStore } from '../../packages/runtime/src/image/image-store.js';
import { hostArchitecture } from '../../packages/runtime/src/image/oci.js';
import {
  type ConfigOverrides,
  createEngine,
  type Engine,
  resolveConfig,
} from '../../packages/runtime/src/index.js';
import { caught } from '../support/caught.js';
import { IMAGE } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';
import { startProxy } from './proxy.js';
import { freePort, type RegistryServer, startRegistry } from './registry-server.js';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  // Read while writing: pack() holds an entry's callback until its data is consumed.
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const [name, content] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ name, mode: 0o644, mtime: new Date(1_600_000_000_000) }, content, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }
  p.finalize();
  await reading;
  return Buffer.concat(chunks);
}

describe('registry pull and push', () => {
  let dir: string;
  let registry: RegistryServer;
  /** The host's store: where cspec/debian:bookworm is cached (only read here). */
  let home: ImageStore;
  /** A store of its own for the small images the tests make and push. */
  let src: ImageStore;
  let engine: Engine;
  const stores: string[] = [];

  /** A fresh, empty store (its own data dir) with the given registry settings. */
  const freshStore = async (overrides: ConfigOverrides = {}) => {
    const dataDir = await mkdtemp(join(dir, 'store-'));
    stores.push(dataDir);
    return { dataDir, store: createImageStore(resolveConfig({ dataDir, ...overrides })) };
  };
  const entries = async (dataDir: string, sub: string) =>
    readdir(join(dataDir, sub)).catch(() => [] as string[]);

  /** A one-layer image made with importRootfs, tagged in `store`. */
  const tinyImage = async (store: ImageStore, reference: string, text: string) => {
    const file = join(
      dir,
      `${createHash('sha256')
        .update(reference + text)
        .digest('hex')
        .slice(0, 8)}.tar`,
    );
    await writeFile(file, await tarOf({ 'hello.txt': text }));
    return store.importRootfs(file, reference);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-registry-test-'));
    registry = await startRegistry();
    home = createImageStore(resolveConfig());
    await home.resolve(IMAGE);
    src = createImageStore(resolveConfig({ dataDir: join(dir, 'source-store') }));
  });

  afterAll(async () => {
    await engine?.close();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
    expectNoLeaks();
  });

  it('pushes the Debian image, pulls it into an empty store (same id), runs it, and a second pull downloads nothing', async () => {
    const remote = `${registry.host}/cspec/debian:bookworm`;
    const pushed = await home.push(remote, { source: IMAGE });
    const original = await home.resolve(IMAGE);
    expect(pushed.blobsUploaded + pushed.blobsSkipped).toBe(original.layerDirs.length + 1);
    // Everything is there now: a second push uploads nothing.
    expect((await home.push(remote, { source: IMAGE })).blobsUploaded).toBe(0);
    // Another client reads what cspec pushed: skopeo copies it out, verifying every digest.
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${remote}`], { encoding: 'utf8' }),
    ) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(pushed.manifestDigest);
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${remote}`,
      `dir:${join(dir, 'skopeo-out')}`,
    ]);

    const { dataDir } = await freshStore();
    engine = await createEngine({ dataDir });
    const progress: string[] = [];
    let started = Date.now();
    const cold = await engine.images.pull(remote, { onProgress: (e) => progress.push(e.phase) });
    const coldMs = Date.now() - started;
    expect(cold.id).toBe(original.id);
    expect(cold.manifestDigest).toBe(pushed.manifestDigest);
    expect(cold.layersDownloaded).toBe(original.layerDirs.length);
    expect(progress).toContain('download');
    expect(progress).toContain('unpack');

    started = Date.now();
    const warm = await engine.images.pull(remote);
    const warmMs = Date.now() - started;
    expect(warm).toMatchObject({ id: original.id, layersDownloaded: 0, bytesDownloaded: 0 });
    console.log(
      `debian:bookworm from the local registry: cold pull ${coldMs} ms (${cold.bytesDownloaded} bytes), second pull ${warmMs} ms`,
    );

    const container = await engine.run({ image: remote, command: ['cat', '/etc/debian_version'] });
    expect((await container.wait()).exitCode).toBe(0);
    expect((await container.logText()).trim()).toMatch(/^12\./);
    await container.remove();
    expect(await entries(dataDir, 'tmp')).toEqual([]);
  });

  it('pulls implicitly on first use, also by digest', async () => {
    const remote = `${registry.host}/tiny/implicit:1`;
    const made = await tinyImage(src, remote, 'implicit\n');
    const pushed = await src.push(remote);
    const { store } = await freshStore();
    const resolved = await store.resolve(remote);
    expect(resolved.id).toBe(made.id);
    expect(await readFile(join(resolved.layerDirs[0]!, 'hello.txt'), 'utf8')).toBe('implicit\n');
    const { store: other } = await freshStore();
    const pinned = await other.resolve(`${registry.host}/tiny/implicit@${pushed.manifestDigest}`);
    expect(pinned.id).toBe(made.id);
    const never = await caught(other.resolve(`${registry.host}/tiny/implicit:1`, { pull: 'never' }));
    expect(never.code).toBe('CSPEC_IMAGE_NOT_FOUND');
    await src.remove(remote);
  });

  it('pulls once when two stores on the same data directory pull the same reference at once', async () => {
    const remote = `${registry.host}/tiny/together:1`;
    const made = await tinyImage(src, remote, 'together\n');
    await src.push(remote);
    await src.remove(remote);
    const { dataDir } = await freshStore();
    const [a, b] = [0, 1].map(() => createImageStore(resolveConfig({ dataDir })));
    const reports = await Promise.all([a!.pull(remote), b!.pull(remote)]);
    expect(reports.map((r) => r.id)).toEqual([made.id, made.id]);
    expect(reports.map((r) => r.layersDownloaded).sort()).toEqual([0, 1]);
    expect(await entries(dataDir, 'layers')).toHaveLength(1);
  });

  it('pulls Docker Hub names through the configured mirror', async () => {
    const made = await tinyImage(src, `${registry.host}/library/mirrored:1`, 'mirrored\n');
    await src.push(`${registry.host}/library/mirrored:1`);
    await src.remove(`${registry.host}/library/mirrored:1`);
    const { store } = await freshStore({ registry: { dockerHubMirror: `${registry.url}/` } });
    const pulled = await store.pull('mirrored:1');
    expect(pulled).toMatchObject({ reference: 'docker.io/library/mirrored:1', id: made.id });
  });

  it('picks the host platform out of an index and skips the attestation', async () => {
    const other = hostArchitecture() === 'arm64' ? 'amd64' : 'arm64';
    const refs = { host: 'plat/host:1', other: 'plat/other:1', att: 'plat/att:1' };
    const images: Record<string, { id: string; manifest: string }> = {};
    for (const [key, name] of Object.entries(refs)) {
      const remote = `${registry.host}/${name}`;
      const made = await tinyImage(src, remote, `${key}\n`);
      images[key] = { id: made.id, manifest: (await src.push(remote)).manifestDigest };
      await src.remove(remote);
    }
    const descriptor = async (digest: string) => {
      const res = await fetch(`${registry.url}/v2/plat/host/manifests/${digest}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      return {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest,
        size: Number(res.headers.get('content-length')),
      };
    };
    // All three manifests must be in the index's repository: copy them over by digest.
    for (const key of ['other', 'att']) {
      const from = key === 'other' ? 'plat/other' : 'plat/att';
      const bytes = Buffer.from(
        await (
          await fetch(`${registry.url}/v2/${from}/manifests/${images[key]!.manifest}`, {
            headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
          })
        ).arrayBuffer(),
      );
      const manifest = JSON.parse(bytes.toString()) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      for (const blob of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        const mounted = await fetch(
          `${registry.url}/v2/plat/host/blobs/uploads/?mount=${blob}&from=${from}`,
          { method: 'POST' },
        );
        expect(mounted.status).toBe(201);
      }
      const put = await fetch(`${registry.url}/v2/plat/host/manifests/${images[key]!.manifest}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: bytes,
      });
      expect(put.status).toBe(201);
    }
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...(await descriptor(images.other!.manifest)), platform: { os: 'linux', architecture: other } },
        {
          ...(await descriptor(images.host!.manifest)),
          platform: { os: 'linux', architecture: hostArchitecture() },
        },
        {
          ...(await descriptor(images.att!.manifest)),
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': images.host!.manifest,
          },
        },
      ],
    };
    const put = await fetch(`${registry.url}/v2/plat/host/manifests/multi`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
      body: JSON.stringify(index),
    });
    expect(put.status).toBe(201);

    const { store } = await freshStore();
    const pulled = await store.pull(`${registry.host}/plat/host:multi`);
    expect(pulled.id).toBe(images.host!.id);
    const chosen = await store.pull(`${registry.host}/plat/host:multi`, { platform: `linux/${other}` });
    expect(chosen.id).toBe(images.other!.id);
    // Pinned by the index's digest: the store resolves the name to the image it pulled for this host.
    const indexDigest = put.headers.get('docker-content-digest')!;
    const { store: pinnedStore } = await freshStore();
    const pinned = await pinnedStore.resolve(`${registry.host}/plat/host@${indexDigest}`);
    expect(pinned.id).toBe(images.host!.id);
    expect((await pinnedStore.resolve(`${registry.host}/plat/host@${indexDigest}`)).id).toBe(images.host!.id);
    const none = await caught(store.pull(`${registry.host}/plat/host:multi`, { platform: 'linux/s390x' }));
    expect(none.code).toBe('CSPEC_IMAGE_NOT_FOUND');
    expect(none.message).toContain(`linux/${other}, linux/${hostArchitecture()}`);
    expect(none.message).not.toContain('unknown');
  });

  it('pulls zstd layers that skopeo copied in', async () => {
    const local = 'cspec-test/zstd:1';
    const made = await tinyImage(src, local, 'zstd layer\n');
    const archive = join(dir, 'zstd.tar');
    await src.save([local], archive);
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      '--dest-compress-format',
      'zstd',
      '--dest-compress',
      `oci-archive:${archive}`,
      `docker://${registry.host}/zstd/app:1`,
    ]);
    await src.remove(local);
    const { store, dataDir } = await freshStore();
    const pulled = await store.pull(`${registry.host}/zstd/app:1`);
    expect(pulled.id).toBe(made.id);
    const blobs = await entries(dataDir, 'blobs/sha256');
    const heads = await Promise.all(
      blobs.map(async (b) =>
        (await readFile(join(dataDir, 'blobs/sha256', b))).subarray(0, 4).toString('hex'),
      ),
    );
    expect(heads).toContain('28b52ffd');
    const resolved = await store.resolve(`${registry.host}/zstd/app:1`);
    expect(await readFile(join(resolved.layerDirs[0]!, 'hello.txt'), 'utf8')).toBe('zstd layer\n');
  });

  it('pulls a Docker v2 schema 2 image with gzip layers', async () => {
    const local = 'cspec-test/v2s2:1';
    const made = await tinyImage(src, local, 'docker schema 2\n');
    const archive = join(dir, 'v2s2.tar');
    await src.save([local], archive);
    await src.remove(local);
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      '--format',
      'v2s2',
      '--dest-compress',
      `oci-archive:${archive}`,
      `docker://${registry.host}/v2s2/app:1`,
    ]);
    const raw = await fetch(`${registry.url}/v2/v2s2/app/manifests/1`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(raw.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const { store, dataDir } = await freshStore();
    const pulled = await store.pull(`${registry.host}/v2s2/app:1`);
    expect(pulled.id).toBe(made.id);
    const heads = await Promise.all(
      (await entries(dataDir, 'blobs/sha256')).map(async (b) =>
        (await readFile(join(dataDir, 'blobs/sha256', b))).subarray(0, 2).toString('hex'),
      ),
    );
    expect(heads).toContain('1f8b');
    // Saved again, the archive says what the manifest is.
    await store.save([`${registry.host}/v2s2/app:1`], join(dir, 'v2s2-again.tar'));
    const { store: other } = await freshStore();
    expect((await other.load(join(dir, 'v2s2-again.tar')))[0]?.id).toBe(made.id);
  });

  it('refuses a layer whose content is not what the config says (diff id), and keeps nothing of it', async () => {
    const remote = `${registry.host}/tiny/diffid:1`;
    await tinyImage(src, remote, 'diff id\n');
    const pushed = await src.push(remote);
    await src.remove(remote);
    const manifestRes = await fetch(`${registry.url}/v2/tiny/diffid/manifests/${pushed.manifestDigest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifest = (await manifestRes.json()) as { config: { digest: string; size: number } };
    const config = (await (
      await fetch(`${registry.url}/v2/tiny/diffid/blobs/${manifest.config.digest}`)
    ).json()) as {
      rootfs: { diff_ids: string[] };
    };
    config.rootfs.diff_ids = [`sha256:${'0'.repeat(64)}`];
    const bytes = Buffer.from(JSON.stringify(config));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const started = await fetch(`${registry.url}/v2/tiny/diffid/blobs/uploads/`, { method: 'POST' });
    const location = new URL(started.headers.get('location')!, registry.url);
    location.searchParams.set('digest', digest);
    expect((await fetch(location, { method: 'PUT', body: bytes })).status).toBe(201);
    manifest.config = { ...manifest.config, digest, size: bytes.length };
    const put = await fetch(`${registry.url}/v2/tiny/diffid/manifests/lying`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: JSON.stringify(manifest),
    });
    expect(put.status).toBe(201);

    const { store, dataDir } = await freshStore();
    const error = await caught(store.pull(`${registry.host}/tiny/diffid:lying`));
    expect(error.code).toBe('CSPEC_REGISTRY_FAILED');
    expect(error.message).toMatch(/layer 1 of .* does not match the image config/);
    expect(await store.list()).toEqual([]);
    expect(await entries(dataDir, 'layers')).toEqual([]);
    expect(await entries(dataDir, 'tmp')).toEqual([]);
  });

  it('refuses a corrupted blob and trusts nothing of it', async () => {
    const remote = `${registry.host}/tiny/corrupt:1`;
    await tinyImage(src, remote, 'corrupt me\n');
    await src.push(remote);
    await src.remove(remote);
    const proxy = await startProxy(registry.url, { corruptBlobs: true });
    try {
      const { store, dataDir } = await freshStore();
      const error = await caught(store.pull(`${proxy.host}/tiny/corrupt:1`));
      expect(error.code).toBe('CSPEC_REGISTRY_FAILED');
      expect(error.message).toMatch(/does not match its digest/);
      expect(await store.list()).toEqual([]);
      expect(await entries(dataDir, 'layers')).toEqual([]);
      expect(await entries(dataDir, 'tmp')).toEqual([]);
      expect(await entries(dataDir, 'blobs/sha256')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('resumes a blob download cut off midway with a Range request', async () => {
    const remote = `${registry.host}/tiny/resume:1`;
    const made = await tinyImage(src, remote, 'x'.repeat(200_000));
    await src.push(remote);
    await src.remove(remote);
    const proxy = await startProxy(registry.url, { cutFirstBlobAfter: 1000 });
    try {
      const { store } = await freshStore();
      const pulled = await store.pull(`${proxy.host}/tiny/resume:1`);
      expect(pulled.id).toBe(made.id);
      expect(proxy.seen.some((r) => r.range === 'bytes=1000-')).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('does not send the Authorization header to another host a blob is redirected to', async () => {
    const remote = `${registry.host}/tiny/redirect:1`;
    const made = await tinyImage(src, remote, 'redirected\n');
    await src.push(remote);
    await src.remove(remote);
    const authorization = `Basic ${Buffer.from('me:secret').toString('base64')}`;
    const proxy = await startProxy(registry.url, {
      redirectBlobs: true,
      requireAuthorization: authorization,
    });
    try {
      const { store } = await freshStore({
        registry: {
          dockerAuthConfig: JSON.stringify({
            auths: { [proxy.host]: { auth: Buffer.from('me:secret').toString('base64') } },
          }),
        },
      });
      const pulled = await store.pull(`${proxy.host}/tiny/redirect:1`);
      expect(pulled.id).toBe(made.id);
      expect(proxy.storageAuthorization.length).toBeGreaterThan(0);
      expect(proxy.storageAuthorization.every((a) => a === undefined)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('leaves no temp file when a pull is aborted mid-download', async () => {
    const remote = `${registry.host}/tiny/abort:1`;
    await tinyImage(src, remote, 'abort\n');
    await src.push(remote);
    await src.remove(remote);
    const proxy = await startProxy(registry.url, { stallBlobs: true });
    try {
      const { store, dataDir } = await freshStore();
      const controller = new AbortController();
      const pulling = store.pull(`${proxy.host}/tiny/abort:1`, {
        signal: controller.signal,
        // The config blob stalls already: abort once the manifest is asked for.
        onProgress: (e) => {
          if (e.phase === 'resolve') setTimeout(() => controller.abort(new Error('test abort')), 300);
        },
      });
      const error = await caught(pulling);
      expect(controller.signal.aborted).toBe(true);
      expect(error.message).toMatch(/abort/i);
      expect(await store.list()).toEqual([]);
      expect(await entries(dataDir, 'tmp')).toEqual([]);
      expect(await entries(dataDir, 'layers')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('unpacks a layer while it downloads, and an abort then leaves nothing of either', async () => {
    const remote = `${registry.host}/tiny/abort-unpacking:1`;
    await tinyImage(src, remote, randomBytes(2_250_000).toString('base64'));
    await src.push(remote);
    await src.remove(remote);
    // The layer (3 MB) stops after 1.5 MB: more than one write batch, so the unpack has begun.
    const proxy = await startProxy(registry.url, {
      stallBlobsAfter: { larger: 2_000_000, bytes: 1_500_000 },
    });
    try {
      const { store, dataDir } = await freshStore();
      const controller = new AbortController();
      let unpacking = false;
      const pulling = store.pull(`${proxy.host}/tiny/abort-unpacking:1`, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase !== 'unpack' || unpacking) return;
          unpacking = true;
          setTimeout(() => controller.abort(new Error('test abort')), 300);
        },
      });
      // Without an unpack behind the download, nothing would end the stalled pull but this.
      const fallback = setTimeout(() => controller.abort(new Error('test abort, no unpack began')), 15_000);
      const error = await caught(pulling);
      clearTimeout(fallback);
      expect(unpacking).toBe(true);
      expect(error.message).toMatch(/abort/i);
      expect(await store.list()).toEqual([]);
      expect(await entries(dataDir, 'tmp')).toEqual([]);
      expect(await entries(dataDir, 'layers')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('says which registry cannot be reached, why, and what to do', async () => {
    const { store } = await freshStore();
    const port = await freePort();
    const closed = await caught(store.pull(`127.0.0.1:${port}/x/y:1`));
    expect(closed.code).toBe('CSPEC_REGISTRY_UNREACHABLE');
    expect(closed.message).toBe(
      `cannot reach the registry 127.0.0.1:${port}: the connection was refused (nothing listens there)`,
    );
    const hub = await caught(store.pull('postgres:16'));
    expect(hub.code).toBe('CSPEC_REGISTRY_UNREACHABLE');
    expect(hub.message).toContain('registry-1.docker.io');
    expect(hub.hint).toMatch(/cspec image load.*CSPEC_REGISTRY_MIRROR.*cspec image import/);
    const unknown = await caught(store.pull(`${registry.host}/nope/nothing:1`));
    expect(unknown.code).toBe('CSPEC_IMAGE_NOT_FOUND');
    expect(await store.list()).toEqual([]);
  });
});
