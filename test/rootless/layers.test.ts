/**
 * Image layers in a rootless store, as the rootless test user (made with its
 * subordinate range by scripts/rootless-user.sh, as CI does). The store runs
 * as the user (store-driver.ts through runuser, from the repository as the
 * user reaches it, with private data, run and tmpfs directories); the checks
 * look at the unpacked files from the host: owners are the image's, mapped
 * into the user's subordinate range.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import {
  hostIdOf,
  idMappings,
  parseSubordinateRange,
} from '../../packages/runtime/src/rootless/id-ranges.js';
import { startRegistry } from '../registry/registry-server.js';
import { dockerArchive, tarOf } from '../support/archives.js';
import { expectNoLeaks } from '../support/leaks.js';
import { ensureRootlessUser, openRootlessWorld, type RootlessWorld } from '../support/rootless-user.js';
import type { OperationResult, StoreOperation } from './store-driver.js';

const run = promisify(execFile);

/** Waits up to 2 s for a process to end; whether it did. */
async function ended(pid: number): Promise<boolean> {
  for (let i = 0; i < 40 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
  return !existsSync(`/proc/${pid}`);
}

describe('rootless image layers (as the rootless test user)', () => {
  const user = ensureRootlessUser();
  const USER = user.name;
  const { uid, gid } = user;
  const range = (file: string) =>
    parseSubordinateRange(execFileSync('cat', [file], { encoding: 'utf8' }), { name: USER, id: uid });
  let world: RootlessWorld;
  let DRIVER = '';
  const uidMap = idMappings(uid, range('/etc/subuid'));
  const gidMap = idMappings(gid, range('/etc/subgid'));
  const hostUid = (inside: number) => hostIdOf(uidMap, inside);
  const hostGid = (inside: number) => hostIdOf(gidMap, inside);

  let dir: string;
  let data: string;

  /** Runs the store operations as the user; returns each one's result. */
  async function asUser(operations: readonly StoreOperation[], dataDir = data): Promise<OperationResult[]> {
    const { stdout } = await run(
      'runuser',
      [
        '-u',
        USER,
        '--',
        'env',
        `HOME=${user.home}`,
        `CSPEC_DATA_DIR=${dataDir}`,
        `CSPEC_RUN_DIR=${join(dir, 'run')}`,
        `CSPEC_TMPFS_DIR=${join(dir, 'tmpfs')}`,
        process.execPath,
        '--import',
        'tsx',
        DRIVER,
        JSON.stringify(operations),
      ],
      { cwd: world.repo, maxBuffer: 16 << 20 },
    );
    const { results, holder } = JSON.parse(stdout) as { results: OperationResult[]; holder: number };
    // The user namespace's holder ends with the process that made it; the unpack helpers before it.
    expect(await ended(holder)).toBe(true);
    expect(spawnSync('pgrep', ['-f', '-u', USER, `unpack-main|${DRIVER}`]).status).toBe(1);
    return results;
  }

  /** A file of the test, readable by the user. */
  async function userFile(name: string, bytes: Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    await chown(path, uid, gid);
    return path;
  }

  /** Every path under `root` with its host owner, `path uid:gid`. */
  const owners = (root: string) =>
    execFileSync('find', [root, '-printf', '%P %U:%G\n'], { encoding: 'utf8' }).split('\n').filter(Boolean);

  beforeAll(async () => {
    world = await openRootlessWorld(user);
    DRIVER = join(world.repo, 'test/rootless/store-driver.ts');
    dir = await mkdtemp('/tmp/cspec-rootless-layers-');
    await chown(dir, uid, gid);
    await chmod(dir, 0o700);
    data = join(dir, 'data');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await world?.close();
  });

  const base = () =>
    tarOf([
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/shadow', mode: 0o640, uid: 0, gid: 42, content: 'root:*:19000:0:99999:7:::\n' },
      { name: 'etc/motd', content: 'hello\n' },
      { name: 'usr/', type: 'directory', mode: 0o755 },
      { name: 'usr/bin/', type: 'directory', mode: 0o755 },
      { name: 'usr/bin/passwd', mode: 0o4755, content: '#!/bin/sh\n' },
      { name: 'usr/share/', type: 'directory', mode: 0o755 },
      { name: 'usr/share/doc/', type: 'directory', mode: 0o755 },
      { name: 'usr/share/doc/old', content: 'old\n' },
      { name: 'var/', type: 'directory', mode: 0o755 },
      { name: 'var/lib/', type: 'directory', mode: 0o755 },
      { name: 'var/lib/postgresql/', type: 'directory', mode: 0o700, uid: 999, gid: 999 },
      { name: 'var/lib/postgresql/PG_VERSION', mode: 0o600, uid: 999, gid: 999, content: '16\n' },
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'run/', type: 'directory', mode: 0o755 },
      { name: 'run/initctl', type: 'fifo', mode: 0o600 },
    ]);

  /** The second layer: a whiteout and an opaque directory. */
  const top = () =>
    tarOf([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/.wh.motd', content: '' },
      { name: 'usr/', type: 'directory', mode: 0o755 },
      { name: 'usr/share/', type: 'directory', mode: 0o755 },
      { name: 'usr/share/doc/', type: 'directory', mode: 0o755 },
      { name: 'usr/share/doc/.wh..wh..opq', content: '' },
      { name: 'usr/share/doc/new', content: 'new\n', uid: 42, gid: 42 },
    ]);

  it('fails an unpack whose owner is outside the range with one clear error, and keeps nothing', async () => {
    const bad = await userFile(
      'out-of-range.tar',
      await tarOf([
        { name: 'opt/', type: 'directory', mode: 0o755 },
        { name: 'opt/ok', content: 'x', uid: 999, gid: 999 },
        { name: 'opt/big', content: 'x', uid: 70000, gid: 70000 },
      ]),
    );
    const broken = await userFile('not-a-tar.tar', Buffer.from('not a tar archive, just text\n'.repeat(40)));
    const [result, notTar] = await asUser([
      { op: 'import', file: bad, reference: 'test/rootless-bad:1' },
      { op: 'import', file: broken, reference: 'test/rootless-broken:1' },
    ]);
    // The helper's errors come back as they are: code, message, hint.
    expect(notTar).toEqual({
      error: {
        code: 'CSPEC_INVALID_ARCHIVE',
        message: expect.stringContaining('cannot read it as a tar archive'),
        hint: expect.stringContaining('the archive is damaged'),
      },
    });
    expect(result).toEqual({
      error: {
        code: 'CSPEC_ID_NOT_MAPPED',
        message: expect.stringContaining(
          'entry "opt/big" belongs to uid 70000 / gid 70000, which the user namespace does not map (it maps uids 0, 1-65536',
        ),
        hint: expect.stringContaining(`give ${USER} a subordinate range of at least 70000 ids`),
      },
    });
    expect(await readdir(join(data, 'layers')).catch(() => [])).toEqual([]);
    expect(await readdir(join(data, 'tmp')).catch(() => [])).toEqual([]);
    expect(await readdir(join(data, 'blobs/sha256')).catch(() => [])).toEqual([]);
    expect(owners(data).filter((l) => !l.endsWith(` ${uid}:${gid}`))).toEqual([]);
  });

  it("unpacks a rootfs and a second layer with the image's owners, mapped into the user's range", async () => {
    const rootfs = await userFile('rootfs.tar', await base());
    const archive = await userFile(
      'two-layers.tar',
      await dockerArchive([await base(), await top()], { repoTag: 'test/rootless-two:1' }),
    );
    const results = await asUser([
      { op: 'import', file: rootfs, reference: 'test/rootless-rootfs:1' },
      { op: 'load', file: archive },
      { op: 'layers', reference: 'test/rootless-rootfs:1' },
      { op: 'layers', reference: 'test/rootless-two:1' },
    ]);
    for (const r of results) expect(r).toHaveProperty('ok');
    const [lower] = (results[2] as { ok: string[] }).ok;
    const [lower2, upper] = (results[3] as { ok: string[] }).ok;
    expect(lower2).toBe(lower);

    const stat = async (root: string, path: string) => {
      const s = await lstat(join(root, path));
      return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
    };
    expect(await stat(lower!, 'etc/shadow')).toEqual({ uid: hostUid(0), gid: hostGid(42), mode: 0o640 });
    expect(await stat(lower!, 'usr/bin/passwd')).toEqual({ uid: hostUid(0), gid: hostGid(0), mode: 0o4755 });
    expect(await stat(lower!, 'var/lib/postgresql')).toEqual({
      uid: hostUid(999),
      gid: hostGid(999),
      mode: 0o700,
    });
    expect(await stat(lower!, 'var/lib/postgresql/PG_VERSION')).toEqual({
      uid: hostUid(999),
      gid: hostGid(999),
      mode: 0o600,
    });
    // runc gives the container its /dev; a fifo is made.
    expect(await readdir(join(lower!, 'dev'))).toEqual([]);
    expect((await lstat(join(lower!, 'run/initctl'))).isFIFO()).toBe(true);

    const whiteout = await lstat(join(upper!, 'etc/motd'));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    const xattr = (path: string, name: string) =>
      spawnSync('getfattr', ['--only-values', '-n', name, path], { encoding: 'utf8' }).stdout;
    expect(xattr(join(upper!, 'usr/share/doc'), 'user.overlay.opaque')).toBe('y');
    expect(xattr(join(upper!, 'usr/share/doc'), 'trusted.overlay.opaque')).toBe('');
    expect(await stat(upper!, 'usr/share/doc/new')).toEqual({
      uid: hostUid(42),
      gid: hostGid(42),
      mode: 0o644,
    });
    expect(await readFile(join(upper!, '../opaque'), 'utf8')).toBe('usr/share/doc\n');
    expect(await readdir(join(data, 'tmp')).catch(() => [])).toEqual([]);

    // Mounted as a container's root (overlay with userxattr in the user namespace): owners, whiteout, opaque dir.
    const [view] = await asUser([
      {
        op: 'mount',
        layerDirs: [lower!, upper!],
        work: join(dir, 'mount'),
        paths: ['etc', 'usr/share/doc', 'etc/shadow', 'usr/bin/passwd', 'var/lib/postgresql/PG_VERSION'],
      },
    ]);
    expect(view).toEqual({
      ok: [
        '== etc',
        'shadow',
        '== usr/share/doc',
        'new',
        '== etc/shadow',
        '0:42 640',
        '== usr/bin/passwd',
        '0:0 4755',
        '== var/lib/postgresql/PG_VERSION',
        '999:999 600',
        '',
      ].join('\n'),
    });
  });

  it('pulls an image from a registry, unpacking its layers as they download', async () => {
    const registry = await startRegistry();
    const source = await mkdtemp(join(tmpdir(), 'cspec-rootless-source-'));
    try {
      const store = createImageStore(resolveConfig({ dataDir: source, rootless: false }));
      const archive = join(source, 'two-layers.tar');
      await writeFile(
        archive,
        await dockerArchive([await base(), await top()], { repoTag: 'test/rootless-two:1' }),
      );
      await store.load(archive);
      const remote = `${registry.host}/test/rootless-pulled:1`;
      await store.push(remote, { source: 'test/rootless-two:1' });
      const pulledData = join(dir, 'pulled');
      const [pulled, layers] = await asUser(
        [
          { op: 'pull', reference: remote },
          { op: 'layers', reference: remote },
        ],
        pulledData,
      );
      expect(pulled).toHaveProperty('ok');
      const [lower, upper] = (layers as { ok: string[] }).ok;
      const s = await lstat(join(lower!, 'var/lib/postgresql/PG_VERSION'));
      expect([s.uid, s.gid, s.mode & 0o7777]).toEqual([hostUid(999), hostGid(999), 0o600]);
      expect((await lstat(join(upper!, 'etc/motd'))).rdev).toBe(0);
      const [removed, pruned] = await asUser(
        [{ op: 'remove', reference: remote }, { op: 'prune' }],
        pulledData,
      );
      expect(removed).toEqual({ ok: true });
      expect((pruned as { ok: { layersRemoved: number } }).ok.layersRemoved).toBe(2);
      expect(await readdir(join(pulledData, 'layers'))).toEqual([]);
    } finally {
      await registry.stop();
      await rm(source, { recursive: true, force: true });
    }
  });

  it("reads a container's changes as root of the namespace: diff, commit and export", async () => {
    const container = join(dir, 'container');
    const [two] = await asUser([{ op: 'layers', reference: 'test/rootless-two:1' }]);
    const layerDirs = (two as { ok: string[] }).ok;
    const upper = join(container, 'upper');
    const [changed] = await asUser([
      {
        op: 'mount',
        layerDirs,
        work: container,
        // What a container does: delete, replace a directory, write a private file of another user.
        script: [
          'rm etc/shadow',
          'rm -rf usr/share/doc && mkdir usr/share/doc && echo only > usr/share/doc/only',
          'echo pg > var/lib/postgresql/new && chown 999:999 var/lib/postgresql/new && chmod 600 var/lib/postgresql/new',
        ].join(' && '),
        paths: ['usr/share/doc'],
      },
    ]);
    expect(changed).toEqual({ ok: '== usr/share/doc\nonly\n' });
    // The user alone cannot read the private directory of uid 999 (the test checks that it is one).
    expect((await lstat(join(upper, 'var/lib/postgresql'))).mode & 0o777).toBe(0o700);

    const exported = join(dir, 'export.tar');
    const [diff, commit, exportResult] = await asUser([
      { op: 'diff', upper, layerDirs },
      { op: 'commit', upper, parent: 'test/rootless-two:1', reference: 'test/rootless-committed:1' },
      { op: 'export', upper, layerDirs, mountPoint: join(container, 'rootfs'), file: exported },
    ]);
    expect((diff as { ok: unknown[] }).ok).toEqual(
      expect.arrayContaining([
        { kind: 'D', path: '/etc/shadow' },
        { kind: 'C', path: '/usr/share/doc' },
        { kind: 'A', path: '/usr/share/doc/only' },
        { kind: 'C', path: '/var/lib/postgresql' },
        { kind: 'A', path: '/var/lib/postgresql/new' },
      ]),
    );

    const committed = (commit as { ok: string[] }).ok;
    expect(committed.slice(0, 2)).toEqual(layerDirs);
    const layer = committed[2]!;
    const whiteout = await lstat(join(layer, 'etc/shadow'));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    expect(
      spawnSync('getfattr', ['--only-values', '-n', 'user.overlay.opaque', join(layer, 'usr/share/doc')], {
        encoding: 'utf8',
      }).stdout,
    ).toBe('y');
    expect(await readdir(join(layer, 'usr/share/doc'))).toEqual(['only']);
    const secret = await lstat(join(layer, 'var/lib/postgresql/new'));
    expect([secret.uid, secret.gid, secret.mode & 0o7777]).toEqual([hostUid(999), hostGid(999), 0o600]);

    expect(exportResult).toEqual({ ok: true });
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', exported], { encoding: 'utf8' });
    const entry = (name: string) => listing.split('\n').find((l) => l.endsWith(` ./${name}`));
    expect(entry('var/lib/postgresql/new')).toMatch(/^-rw------- 999\/999 /);
    expect(entry('etc/shadow')).toBeUndefined();
    expect(entry('usr/share/doc/only')).toBeDefined();
    expect(entry('usr/share/doc/new')).toBeUndefined();
    expect(entry('usr/bin/passwd')).toMatch(/^-rwsr-xr-x 0\/0 /);
  });

  it('builds COPY (--chown, --from), ADD and WORKDIR steps with the owners the image says', async () => {
    const context = join(dir, 'context');
    await mkdir(join(context, 'data'), { recursive: true });
    await writeFile(join(context, 'data/a.conf'), 'a\n');
    await writeFile(join(context, 'app.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(
      join(context, 'files.tar'),
      await tarOf([{ name: 'opt-file', content: 'x', uid: 42, gid: 42, mode: 0o640 }]),
    );
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM test/rootless-two:1',
        'COPY --chown=999:999 data/ /var/lib/postgresql/conf/',
        'COPY app.sh /usr/local/bin/app.sh',
        'ADD files.tar /opt/',
        'COPY --from=test/rootless-two:1 /var/lib/postgresql/PG_VERSION /srv/PG_VERSION',
        'WORKDIR /home/app/work',
        '',
      ].join('\n'),
    );
    execFileSync('chown', ['-R', `${uid}:${gid}`, context]);
    const [built, layers] = await asUser([
      { op: 'build', context, tag: 'test/rootless-built:1' },
      { op: 'layers', reference: 'test/rootless-built:1' },
    ]);
    expect(built).toEqual({ ok: 'docker.io/test/rootless-built:1' });
    const dirs = [...(layers as { ok: string[] }).ok].reverse();
    /** Owner and mode of `path` in the topmost layer that has it. */
    const stat = async (path: string) => {
      for (const d of dirs) {
        const s = await lstat(join(d, path)).catch(() => undefined);
        if (s) return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
      }
      return undefined;
    };
    expect(await stat('var/lib/postgresql/conf/a.conf')).toEqual({
      uid: hostUid(999),
      gid: hostGid(999),
      mode: 0o644,
    });
    // A parent the step made keeps the image's metadata (uid 999, 0700), as ids inside the image.
    expect(await stat('var/lib/postgresql')).toEqual({ uid: hostUid(999), gid: hostGid(999), mode: 0o700 });
    expect(await stat('usr/local/bin/app.sh')).toEqual({ uid: hostUid(0), gid: hostGid(0), mode: 0o755 });
    expect(await stat('opt/opt-file')).toEqual({ uid: hostUid(42), gid: hostGid(42), mode: 0o640 });
    expect(await stat('srv/PG_VERSION')).toEqual({ uid: hostUid(0), gid: hostGid(0), mode: 0o600 });
    expect(await stat('home/app/work')).toEqual({ uid: hostUid(0), gid: hostGid(0), mode: 0o755 });
  });

  it("places a spec's files in a container's upper directory with their owners", async () => {
    const upper = join(dir, 'files-upper');
    const [layers] = await asUser([{ op: 'layers', reference: 'test/rootless-two:1' }]);
    const [placed] = await asUser([
      {
        op: 'files',
        upper,
        layerDirs: (layers as { ok: string[] }).ok,
        files: [
          { target: '/var/lib/postgresql/conf.d/x.conf', content: 'x', uid: 999, gid: 999, mode: 0o600 },
          { target: '/etc/app.conf', content: 'y' },
        ],
      },
    ]);
    expect(placed).toEqual({ ok: true });
    const stat = async (path: string) => {
      const s = await lstat(join(upper, path));
      return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
    };
    // The parent as the image has it (uid 999, 0700), the new directory and file as asked.
    expect(await stat('var/lib/postgresql')).toEqual({ uid: hostUid(999), gid: hostGid(999), mode: 0o700 });
    expect(await stat('var/lib/postgresql/conf.d')).toEqual({
      uid: hostUid(0),
      gid: hostGid(0),
      mode: 0o755,
    });
    expect(await stat('var/lib/postgresql/conf.d/x.conf')).toEqual({
      uid: hostUid(999),
      gid: hostGid(999),
      mode: 0o600,
    });
    expect(await stat('etc/app.conf')).toEqual({ uid: hostUid(0), gid: hostGid(0), mode: 0o644 });
  });

  it("removes the images and a container's changes as the user, subordinate-owned files included, and leaves nothing", async () => {
    const results = await asUser([
      { op: 'remove', reference: 'test/rootless-rootfs:1' },
      { op: 'remove', reference: 'test/rootless-two:1' },
      { op: 'remove', reference: 'test/rootless-committed:1' },
      { op: 'remove', reference: 'test/rootless-built:1' },
      { op: 'prune' },
      { op: 'removeTree', path: join(dir, 'container') },
      { op: 'removeTree', path: join(dir, 'files-upper') },
      { op: 'removeTree', path: join(dir, 'mount') },
    ]);
    for (const r of results) expect(r).toHaveProperty('ok');
    expect((results[4] as { ok: { layersRemoved: number } }).ok.layersRemoved).toBe(8);
    expect(await readdir(dir)).not.toContain('container');
    expect(await readdir(join(data, 'layers'))).toEqual([]);
    expect(await readdir(join(data, 'blobs/sha256'))).toEqual([]);
    expect(await readdir(join(data, 'tmp')).catch(() => [])).toEqual([]);
    // Nothing of a subordinate id is left in the user's directories, and nothing of cspec's on the host.
    expect(owners(dir).filter((l) => !l.endsWith(` ${uid}:${gid}`))).toEqual([]);
    expectNoLeaks();
  });
});
