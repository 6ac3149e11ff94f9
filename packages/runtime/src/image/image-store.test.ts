import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { isCspecError } from '../errors.js';
import { chainIds } from '../snapshot/chain-id.js';
import { tempPath } from '../util/temp-path.js';
import { createImageStore } from './image-store.js';
import { type OciImageConfig, writeImage } from './oci.js';
import type { ImageSource } from './source.js';
import { createDebianBootstrapSource } from './sources/debian-bootstrap.js';
import type { ImageProgress } from './types.js';

interface FakeSource extends ImageSource {
  builds: number;
  failNext: boolean;
}

/** Builds `cspec/fake:<tag>`: one tiny layer holding /etc/fake, and a config exercising every mapped field. */
function fakeSource(delayMs = 0): FakeSource {
  const source: FakeSource = {
    name: 'fake',
    builds: 0,
    failNext: false,
    provides: (ref) => ref.repository === 'cspec/fake',
    check: () => {},
    canonical: (ref) => (ref.tag === 'alias' ? 'cspec/fake:one' : undefined),
    async build(ref, ctx) {
      source.builds++;
      const dir = tempPath(ctx.tmpDir, 'fake');
      try {
        await mkdir(join(dir, 'etc'), { recursive: true });
        await writeFile(join(dir, 'etc', 'fake'), `${ref.tag}\n`);
        ctx.onProgress({ phase: 'fake', message: 'building' });
        await new Promise((r) => setTimeout(r, delayMs));
        if (source.failNext) {
          source.failNext = false;
          throw new Error('the fake build failed');
        }
        const layer = await ctx.blobs.ingest(Readable.from([Buffer.from(`layer of ${ref.normalized}`)]));
        const config: OciImageConfig = {
          created: '2024-01-02T03:04:05.000Z',
          architecture: 'amd64',
          os: 'linux',
          config: {
            Env: ['PATH=/bin', 'A=1'],
            Entrypoint: ['/entry'],
            Cmd: ['serve'],
            WorkingDir: '/srv',
            User: 'app',
            ExposedPorts: { '5432/tcp': {}, '8080': {}, '53/udp': {} },
            Labels: { 'dev.cspec.test': 'yes' },
            StopSignal: 'SIGINT',
          },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        };
        const manifest = await writeImage(ctx.blobs, config, [layer]);
        await ctx.layers.adoptDirectory(chainIds([layer.digest])[0] as string, dir);
        return { manifestDigest: manifest.digest };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return source;
}

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cspec-images-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const config = () => resolveConfig({ dataDir, debianMirror: 'http://127.0.0.1:9/debian' }, {});
const entries = (dir: string) => readdir(join(dataDir, dir)).catch(() => [] as string[]);

async function caught(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected a rejection');
  return error;
}

describe('image store', () => {
  it('builds a missing image once, then serves it from the cache', async () => {
    const source = fakeSource();
    const store = createImageStore(config(), { sources: [source] });
    const events: ImageProgress[] = [];
    const image = await store.resolve('cspec/fake:one', { onProgress: (e) => events.push(e) });
    expect(source.builds).toBe(1);
    expect(events.map((e) => e.phase)).toEqual(['fake', 'done']);
    expect(image.reference).toBe('cspec/fake:one');
    expect(image.id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(image.layerDirs).toHaveLength(1);
    expect(image.layerDirs[0]).toMatch(new RegExp(`^${dataDir}/layers/[a-f0-9]{16}/fs$`));
    expect(await readFile(join(image.layerDirs[0] as string, 'etc', 'fake'), 'utf8')).toBe('one\n');
    expect(image.config).toEqual({
      env: ['PATH=/bin', 'A=1'],
      entrypoint: ['/entry'],
      cmd: ['serve'],
      workingDir: '/srv',
      user: 'app',
      exposedPorts: [5432, 8080],
      labels: { 'dev.cspec.test': 'yes' },
      stopSignal: 'SIGINT',
    });

    // A second store (another process, as far as the disk is concerned) finds it without building.
    const again = createImageStore(config(), { sources: [source] });
    const warmEvents: ImageProgress[] = [];
    expect(await again.resolve('cspec/fake:one', { onProgress: (e) => warmEvents.push(e) })).toEqual(image);
    expect(source.builds).toBe(1);
    expect(warmEvents.map((e) => e.phase)).toEqual(['cached']);
    expect(await entries('tmp')).toEqual([]);
    expect(await entries('locks')).toEqual([]);
  });

  it('builds once when resolves of the same reference race', async () => {
    const source = fakeSource(100);
    const stores = [1, 2, 3].map(() => createImageStore(config(), { sources: [source] }));
    const images = await Promise.all(stores.map((s) => s.resolve('cspec/fake:race')));
    expect(source.builds).toBe(1);
    expect(new Set(images.map((i) => i.id)).size).toBe(1);
  });

  it('unpacks a missing layer directory from its blob; one that cannot be is reported, and rm lets it rebuild', async () => {
    // The fake source's layer blob is not a tar: unpacking it again fails, and that is damage to report.
    const source = fakeSource();
    const store = createImageStore(config(), { sources: [source] });
    const first = await store.resolve('cspec/fake:one');
    await rm(join(first.layerDirs[0] as string, '..'), { recursive: true });
    const error = await caught(store.resolve('cspec/fake:one'));
    expect(isCspecError(error, 'CSPEC_IMAGE_CORRUPT')).toBe(true);
    expect(error.message).toContain(join(dataDir, 'blobs', 'sha256'));
    expect((error as { hint?: string }).hint).toContain('cspec image rm cspec/fake:one');
    expect(source.builds).toBe(1);
    await store.remove('cspec/fake:one');
    const second = await store.resolve('cspec/fake:one');
    expect(source.builds).toBe(2);
    expect(await readFile(join(second.layerDirs[0] as string, 'etc', 'fake'), 'utf8')).toBe('one\n');
  });

  it('leaves no tag, no layer and no temp entry when a build fails, and lets the next try build', async () => {
    const source = fakeSource();
    source.failNext = true;
    const store = createImageStore(config(), { sources: [source] });
    const error = await caught(store.resolve('cspec/fake:one'));
    expect(isCspecError(error, 'CSPEC_IMAGE_BUILD_FAILED')).toBe(true);
    expect(error.message).toContain('the fake build failed');
    expect(await entries('repositories')).toEqual([]);
    expect(await entries('layers')).toEqual([]);
    expect(await entries('tmp')).toEqual([]);
    expect(await entries('locks')).toEqual([]);
    expect(await store.list()).toEqual([]);
    await store.resolve('cspec/fake:one');
    expect(source.builds).toBe(2);
  });

  it('reports references no source provides', async () => {
    const store = createImageStore(config(), { sources: [fakeSource()] });
    const error = await caught(store.resolve('cspec/bar:1'));
    expect(isCspecError(error, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    expect(error.message).toBe(
      'image "cspec/bar:1" is not in the cache and no source can provide it — cspec builds cspec/debian:bullseye|bookworm|trixie, cspec/postgres:15, cspec/postgres:17, cspec/mariadb:10.11, cspec/mariadb:11, cspec/redis:7 and cspec/node:<version> itself; other images come from registries (cspec image pull) or archives (cspec image load / import)',
    );
    // A registry reference is pulled on first use, unless pulls are off.
    const offline = await caught(store.resolve('foo/bar:1', { pull: 'never' }));
    expect(isCspecError(offline, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    const invalid = await caught(store.resolve('Foo/Bar'));
    expect(isCspecError(invalid, 'CSPEC_INVALID_REFERENCE')).toBe(true);
  });

  it('rejects unknown Debian suites before doing anything', async () => {
    const store = createImageStore(config());
    const error = await caught(store.resolve('cspec/debian:potato'));
    expect(isCspecError(error, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('cspec/debian:bullseye, cspec/debian:bookworm, cspec/debian:trixie');
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('resolves a digest reference from the blobs, and an alias to the same image', async () => {
    const source = fakeSource();
    const store = createImageStore(config(), { sources: [source] });
    const image = await store.resolve('cspec/fake:one');
    const [tag] = await readdir(join(dataDir, 'repositories'));
    const { manifestDigest } = JSON.parse(
      await readFile(join(dataDir, 'repositories', tag as string), 'utf8'),
    );
    const pinned = await store.resolve(`cspec/fake@${manifestDigest}`);
    expect(pinned).toMatchObject({ id: image.id, layerDirs: image.layerDirs });
    expect(pinned.reference).toBe(`cspec/fake@${manifestDigest}`);
    const missing = `cspec/fake@sha256:${'0'.repeat(64)}`;
    expect(isCspecError(await caught(store.resolve(missing)), 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);

    const alias = await store.resolve('cspec/fake:alias');
    expect(alias).toMatchObject({ reference: 'cspec/fake:alias', id: image.id, layerDirs: image.layerDirs });
    expect(source.builds).toBe(1);
  });

  it('lists and removes tags', async () => {
    const store = createImageStore(config(), { sources: [fakeSource()] });
    const one = await store.resolve('cspec/fake:one');
    await store.resolve('cspec/fake:two');
    const list = await store.list();
    expect(list.map((i) => i.reference)).toEqual(['cspec/fake:one', 'cspec/fake:two']);
    expect(list[0]).toEqual({
      reference: 'cspec/fake:one',
      id: one.id,
      created: '2024-01-02T03:04:05.000Z',
      sizeBytes: Buffer.byteLength('layer of cspec/fake:one'),
      sharedSizeBytes: 0,
    });
    await store.remove('cspec/fake:one');
    expect((await store.list()).map((i) => i.reference)).toEqual(['cspec/fake:two']);
    expect(isCspecError(await caught(store.remove('cspec/fake:one')), 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
  });

  it('removes temp entries and half-written tags of dead processes and keeps those of live ones', async () => {
    const tmp = join(dataDir, 'tmp');
    await mkdir(join(tmp, '999999999_12345_abcdef_blob'), { recursive: true });
    await writeFile(join(tmp, 'garbage'), '');
    const mine = tempPath(tmp, 'in-progress');
    await writeFile(mine, '');
    // A tag written aside by a killed process (its rename never came), and one being written now.
    const tags = join(dataDir, 'repositories');
    await mkdir(tags, { recursive: true });
    await writeFile(join(tags, `${'a'.repeat(32)}.json.999999999.0123abcd.tmp`), '{"manifest');
    const writing = `${'b'.repeat(32)}.json.${process.pid}.89abcdef.tmp`;
    await writeFile(join(tags, writing), '');
    await createImageStore(config()).list();
    expect(await readdir(tmp)).toEqual([mine.slice(tmp.length + 1)]);
    expect(await readdir(tags)).toEqual([writing]);
  });

  it('stops waiting for another build when aborted', async () => {
    const source = fakeSource(300);
    const store = createImageStore(config(), { sources: [source] });
    const building = store.resolve('cspec/fake:slow');
    await new Promise((r) => setTimeout(r, 50));
    const controller = new AbortController();
    const waiting = store.resolve('cspec/fake:slow', { signal: controller.signal });
    controller.abort();
    expect(isCspecError(await caught(waiting), 'CSPEC_ABORTED')).toBe(true);
    await building;
    expect(source.builds).toBe(1);
  });
});

describe('debian bootstrap source', () => {
  const withDebootstrap = (debootstrapPath: string) =>
    createImageStore(config(), {
      sources: [createDebianBootstrapSource({ mirror: 'http://127.0.0.1:9/debian', debootstrapPath })],
    });

  it('asks for debootstrap when it is missing', async () => {
    const error = await caught(withDebootstrap('/nonexistent/debootstrap').resolve('cspec/debian:bookworm'));
    expect(isCspecError(error, 'CSPEC_HOST_UNSUPPORTED')).toBe(true);
    expect((error as { hint?: string }).hint).toBe('apt-get install -y debootstrap');
    expect(await entries('tmp')).toEqual([]);
    expect(await entries('locks')).toEqual([]);
  });

  it('streams progress and reports a failed debootstrap with its output, leaving nothing', async () => {
    const script = join(dataDir, 'fake-debootstrap');
    await writeFile(
      script,
      '#!/bin/sh\necho "I: Retrieving InRelease"\necho "E: Failed getting release file" >&2\nexit 1\n',
    );
    await chmod(script, 0o755);
    const events: ImageProgress[] = [];
    const error = await caught(
      withDebootstrap(script).resolve('cspec/debian:12', { onProgress: (e) => events.push(e) }),
    );
    expect(isCspecError(error, 'CSPEC_IMAGE_BUILD_FAILED')).toBe(true);
    expect(error.message).toContain('E: Failed getting release file');
    expect(events).toContainEqual({ phase: 'bootstrap', message: 'bookworm: fetching the package index' });
    expect(await entries('tmp')).toEqual([]);
    expect(await entries('layers')).toEqual([]);
    expect(await entries('repositories')).toEqual([]);
  });

  it('kills debootstrap and its children when aborted', async () => {
    const pids = join(dataDir, 'pids');
    const script = join(dataDir, 'slow-debootstrap');
    // Writes into its target like debootstrap, and starts a child that would outlive a plain kill.
    await writeFile(
      script,
      `#!/bin/sh\nmkdir -p "$3/etc"\nsleep 60 &\necho "$$ $!" > ${pids}\necho "I: Retrieving packages"\nwait\n`,
    );
    await chmod(script, 0o755);
    const controller = new AbortController();
    const building = withDebootstrap(script).resolve('cspec/debian:trixie', {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.message.includes('downloading packages')) controller.abort();
      },
    });
    const error = await caught(building);
    expect(isCspecError(error, 'CSPEC_ABORTED')).toBe(true);
    const [shell, sleeper] = (await readFile(pids, 'utf8')).trim().split(' ').map(Number);
    expect(shell).toBeGreaterThan(0);
    expect(sleeper).toBeGreaterThan(0);
    expect(await stillRunning(shell as number)).toBe(false);
    expect(await stillRunning(sleeper as number)).toBe(false);
    expect(await entries('tmp')).toEqual([]);
    expect(await entries('layers')).toEqual([]);
  });
});

/** Whether `pid` is a running (not zombie) process, waiting up to 2 s for a signalled one to go. */
async function stillRunning(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 2_000; Date.now() < deadline; ) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
