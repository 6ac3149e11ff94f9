import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { createLayeredRoot } from './layered-root.js';
import { opaqueXattr } from './overlay-xattrs.js';
import { keepsXattr, type NamespaceIds, unmappedOwner, unpackLayer } from './unpack-layer.js';

type Entry = Parameters<ReturnType<typeof pack>['entry']>[0] & { content?: string };

/** A tar made with tar-stream, as bytes. */
async function tarOf(entries: readonly Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ mtime: new Date(1_600_000_000_000), ...header }, content ?? '', (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const xattr = (path: string, name: string) =>
  execFileSync('getfattr', ['--only-values', '-h', '-n', name, path], { encoding: 'utf8' });

describe('unpackLayer', () => {
  let root: string;
  let dest: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cspec-unpack-'));
    dest = join(root, 'layer');
    await mkdir(dest);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const unpack = (bytes: Buffer, lowerDirs: string[] = []) =>
    unpackLayer(Readable.from([bytes]), dest, { lowerDirs });

  it('keeps types, owners, modes, mtimes and xattrs; its diff id is the tar digest', async () => {
    const bytes = await tarOf([
      { name: 'srv/', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 },
      { name: 'srv/tool', mode: 0o4755, uid: 0, gid: 0, content: '#!/bin/sh\n' },
      {
        name: 'srv/data',
        mode: 0o640,
        uid: 1000,
        gid: 1001,
        content: 'hello',
        pax: { 'SCHILY.xattr.user.origin': 'test' },
      },
      { name: 'srv/link', type: 'symlink', linkname: '/srv/data' },
      { name: 'srv/hard', type: 'link', linkname: 'srv/data' },
      { name: 'srv/pipe', type: 'fifo', mode: 0o600 },
      { name: 'srv/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    ]);
    const result = await unpack(bytes);
    expect(result.diffId).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);

    const dir = await stat(join(dest, 'srv'));
    expect([dir.mode & 0o7777, dir.uid, dir.gid]).toEqual([0o750, 1000, 1001]);
    expect(dir.mtimeMs).toBe(1_600_000_000_000);
    const tool = await stat(join(dest, 'srv/tool'));
    expect(tool.mode & 0o7777).toBe(0o4755);
    const data = await stat(join(dest, 'srv/data'));
    expect([data.mode & 0o7777, data.uid, data.gid, data.nlink]).toEqual([0o640, 1000, 1001, 2]);
    expect(await readFile(join(dest, 'srv/hard'), 'utf8')).toBe('hello');
    expect((await stat(join(dest, 'srv/hard'))).ino).toBe(data.ino);
    expect(await readlink(join(dest, 'srv/link'))).toBe('/srv/data');
    expect((await lstat(join(dest, 'srv/pipe'))).isFIFO()).toBe(true);
    const nul = await lstat(join(dest, 'srv/null'));
    expect([nul.isCharacterDevice(), nul.rdev]).toEqual([true, (1 << 8) | 3]);
    expect(xattr(join(dest, 'srv/data'), 'user.origin')).toBe('test');
  });

  it('turns whiteouts into overlayfs whiteouts and opaque markers into the opaque xattr', async () => {
    const lower = join(root, 'lower');
    await mkdir(join(lower, 'etc'), { recursive: true });
    await mkdir(join(lower, 'opt/app'), { recursive: true });
    await writeFile(join(lower, 'etc/gone'), 'x');
    await writeFile(join(lower, 'opt/app/old'), 'x');
    const result = await unpack(
      await tarOf([
        { name: 'etc/', type: 'directory' },
        { name: 'etc/.wh.gone', content: '' },
        { name: 'opt/app/', type: 'directory' },
        { name: 'opt/app/.wh..wh..opq', content: '' },
        { name: 'opt/app/new', content: 'n' },
      ]),
      [lower],
    );
    const whiteout = await lstat(join(dest, 'etc/gone'));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    expect(existsSync(join(dest, 'etc/.wh.gone'))).toBe(false);
    expect(xattr(join(dest, 'opt/app'), 'trusted.overlay.opaque')).toBe('y');
    expect(result.opaqueDirs).toEqual(['opt/app']);
    expect(await readdir(join(dest, 'opt/app'))).toEqual(['new']);
    const view = createLayeredRoot([dest, lower]);
    expect(await view.locate('/etc/gone')).toBeUndefined();
  });

  it('copies a lower-layer file up when a hard link points at it', async () => {
    const lower = join(root, 'lower');
    await mkdir(join(lower, 'usr/bin'), { recursive: true });
    await writeFile(join(lower, 'usr/bin/tool'), 'binary', { mode: 0o755 });
    await unpack(await tarOf([{ name: 'usr/bin/alias', type: 'link', linkname: 'usr/bin/tool' }]), [lower]);
    const [alias, tool] = await Promise.all([
      stat(join(dest, 'usr/bin/alias')),
      stat(join(dest, 'usr/bin/tool')),
    ]);
    expect(alias.ino).toBe(tool.ino);
    expect(tool.mode & 0o777).toBe(0o755);
    expect(await readFile(join(dest, 'usr/bin/alias'), 'utf8')).toBe('binary');
  });

  it('reads gzip layers; drops overlay xattrs an image tries to set', async () => {
    const bytes = await tarOf([
      { name: 'a/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
      { name: 'a/b', content: 'b' },
    ]);
    const result = await unpack(gzipSync(bytes));
    expect(result.diffId).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    expect(() => xattr(join(dest, 'a'), 'trusted.overlay.opaque')).toThrow();
  });

  it.each([
    ['a ".." component', [{ name: '../escape', content: 'x' }]],
    ['a ".." inside the path', [{ name: 'a/../../escape', content: 'x' }]],
    [
      'a path through a symbolic link',
      [
        { name: 'etc', type: 'symlink', linkname: '/tmp' },
        { name: 'etc/escape', content: 'x' },
      ],
    ],
    [
      'a hard link through a symbolic link',
      [
        { name: 'etc', type: 'symlink', linkname: '/etc' },
        { name: 'stolen', type: 'link', linkname: 'etc/hostname' },
      ],
    ],
  ] as const)('refuses %s and writes nothing outside', async (_what, entries) => {
    const error = await unpack(await tarOf(entries as unknown as Entry[])).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
    expect((error as Error).message).toMatch(/outside the image|through the symbolic link/);
    expect(existsSync(join(dest, 'stolen'))).toBe(false);
    expect(existsSync(join(root, 'escape'))).toBe(false);
    expect(existsSync('/tmp/escape')).toBe(false);
  });

  describe('hostile entries never reach outside the layer', () => {
    // As in the store: the layer is unpacked in a directory beside others (<data>/tmp/<id>).
    let data: string;
    let layer: string;
    let neighbour: string;
    beforeEach(async () => {
      data = join(root, 'data');
      layer = join(data, 'tmp', 'layer');
      neighbour = join(data, 'tmp', 'neighbour');
      await mkdir(layer, { recursive: true });
      await mkdir(neighbour);
      await writeFile(join(neighbour, 'keep'), 'kept');
    });
    const unpackHere = (entries: readonly Entry[], lowerDirs: string[] = []) =>
      tarOf(entries).then((bytes) =>
        unpackLayer(Readable.from([bytes]), layer, { lowerDirs, label: 'layer 2 of test/image' }),
      );
    const untouched = async () => {
      expect((await lstat(join(data, 'tmp'))).isDirectory()).toBe(true);
      expect((await lstat(layer)).isDirectory()).toBe(true);
      expect(await readFile(join(neighbour, 'keep'), 'utf8')).toBe('kept');
      expect((await readdir(join(data, 'tmp'))).sort()).toEqual(['layer', 'neighbour']);
    };

    it.each([
      ['.wh..', '.wh..'],
      ['.wh...', '.wh...'],
      ['.wh.', '.wh.'],
      ['nested .wh...', 'a/b/.wh...'],
      ['nested .wh..', 'a/.wh..'],
    ])('refuses the malformed whiteout %s, naming the layer and the entry', async (_what, name) => {
      const error = await unpackHere([
        { name: 'a/', type: 'directory' },
        { name: 'a/b/', type: 'directory' },
        { name: 'a/b/c', content: 'c' },
        { name, content: '' },
      ]).catch((e: unknown) => e);
      expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
      expect((error as Error).message).toContain('layer 2 of test/image');
      expect((error as Error).message).toContain(`"${name}"`);
      expect((error as Error).message).toMatch(/whiteout/);
      await untouched();
    });

    it('skips AUFS metadata entries (.wh..wh.*) other than the opaque marker, as Docker does', async () => {
      await unpackHere([
        { name: '.wh..wh.aufs', content: '' },
        { name: '.wh..wh.plnk/', type: 'directory' },
        { name: '.wh..wh.plnk/123.456', content: 'x' },
        { name: 'etc/.wh..wh.orph', content: '' },
        { name: 'etc/hostname', content: 'h' },
      ]);
      expect(await readdir(layer)).toEqual(['etc']);
      expect(await readdir(join(layer, 'etc'))).toEqual(['hostname']);
      await untouched();
    });

    it('takes absolute entry names and hard link targets as inside the layer', async () => {
      await unpackHere([
        { name: '/etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
        { name: '/etc/passwd-', type: 'link', linkname: '/etc/passwd' },
      ]);
      expect((await stat(join(layer, 'etc/passwd-'))).ino).toBe((await stat(join(layer, 'etc/passwd'))).ino);
      expect(await readFile(join(layer, 'etc/passwd-'), 'utf8')).toContain('root:x:0:0');
      await untouched();
    });

    it("copies up a lower layer's symbolic link as a link, never the host file it names", async () => {
      const secret = join(root, 'host-secret');
      await writeFile(secret, 'HOST SECRET');
      const lower = join(root, 'lower');
      await mkdir(join(lower, 'etc'), { recursive: true });
      await symlink(secret, join(lower, 'etc/evil'));
      await unpackHere([{ name: 'etc/alias', type: 'link', linkname: 'etc/evil' }], [lower]);
      const alias = await lstat(join(layer, 'etc/alias'));
      expect(alias.isSymbolicLink()).toBe(true);
      expect(await readlink(join(layer, 'etc/alias'))).toBe(secret);
      expect(alias.ino).toBe((await lstat(join(layer, 'etc/evil'))).ino);
      await untouched();
    });

    it("copies up a lower layer's device node as a node, never the host device's contents", async () => {
      const lower = join(root, 'lower');
      await mkdir(join(lower, 'dev'), { recursive: true });
      execFileSync('mknod', ['-m', '0644', join(lower, 'dev/zero'), 'c', '1', '5']);
      await unpackHere([{ name: 'dev/zero2', type: 'link', linkname: 'dev/zero' }], [lower]);
      const node = await lstat(join(layer, 'dev/zero2'));
      expect([node.isCharacterDevice(), node.rdev, node.mode & 0o7777]).toEqual([true, (1 << 8) | 5, 0o644]);
      await untouched();
    });

    it("never follows a lower layer's symbolic link that a higher layer hides with a directory", async () => {
      // lower1: etc -> <host dir>; lower2 (above): etc/ a real directory. The merged /etc is lower2's.
      const hostDir = join(root, 'host-etc');
      await mkdir(hostDir);
      await writeFile(join(hostDir, 'shadow'), 'HOST SHADOW');
      const lower1 = join(root, 'lower1');
      const lower2 = join(root, 'lower2');
      await mkdir(lower1);
      await symlink(hostDir, join(lower1, 'etc'));
      await mkdir(join(lower2, 'etc'), { recursive: true });
      const error = await unpackHere(
        [{ name: 'etc/stolen', type: 'link', linkname: 'etc/shadow' }],
        [lower2, lower1],
      ).catch((e: unknown) => e);
      expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
      expect((error as Error).message).toContain('in no layer');
      expect(existsSync(join(layer, 'etc/shadow'))).toBe(false);
      await untouched();
    });
  });

  it("never applies an earlier entry's metadata to the link that replaced it", async () => {
    const hostFile = join(root, 'host-file');
    await writeFile(hostFile, 'host', { mode: 0o644 });
    await unpack(
      await tarOf([
        { name: 'x', mode: 0o4777, uid: 1234, content: 'first' },
        { name: 'x', type: 'symlink', linkname: hostFile },
      ]),
    );
    const host = await stat(hostFile);
    expect([host.mode & 0o7777, host.uid]).toEqual([0o644, 0]);
    expect(await readlink(join(dest, 'x'))).toBe(hostFile);
  });

  it('refuses a deferred device node whose directory became a symbolic link', async () => {
    const outside = join(root, 'outside');
    await mkdir(outside);
    const error = await unpack(
      await tarOf([
        { name: 'd/', type: 'directory' },
        { name: 'd/fifo', type: 'fifo' },
        { name: 'd', type: 'symlink', linkname: outside },
      ]),
    ).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
    expect(await readdir(outside)).toEqual([]);
  });

  it("keeps a file's mtime, owner and setuid bit through its later hard link and xattrs", async () => {
    await unpack(
      await tarOf([
        {
          name: 'bin/su',
          mode: 0o4750,
          uid: 0,
          gid: 42,
          mtime: new Date(1_500_000_000_000),
          content: 'su',
          pax: { 'SCHILY.xattr.user.note': 'kept' },
        },
        { name: 'bin/su2', type: 'link', linkname: 'bin/su' },
        { name: 'bin/sh', type: 'symlink', linkname: 'su', uid: 7, mtime: new Date(1_400_000_000_000) },
      ]),
    );
    const su = await stat(join(dest, 'bin/su'));
    expect([su.mode & 0o7777, su.uid, su.gid, su.nlink, su.mtimeMs]).toEqual([
      0o4750, 0, 42, 2, 1_500_000_000_000,
    ]);
    const sh = await lstat(join(dest, 'bin/sh'));
    expect([sh.uid, sh.mtimeMs]).toEqual([7, 1_400_000_000_000]);
    expect(xattr(join(dest, 'bin/su'), 'user.note')).toBe('kept');
  });

  it('replaces entries of one name in any order: file, directory, file again, and what was inside', async () => {
    await unpack(
      await tarOf([
        { name: 'a/', type: 'directory' },
        { name: 'a/old', content: 'old' },
        { name: 'a', content: 'a file now' },
        { name: 'a/', type: 'directory', mode: 0o700 },
        { name: 'a/old', content: 'second' },
        { name: 'a/old', content: 'third', mode: 0o600 },
        { name: 'b/c/d', content: 'deep' },
        { name: 'b/c', type: 'symlink', linkname: '/elsewhere' },
      ]),
    );
    expect((await stat(join(dest, 'a'))).mode & 0o7777).toBe(0o700);
    expect(await readdir(join(dest, 'a'))).toEqual(['old']);
    expect(await readFile(join(dest, 'a/old'), 'utf8')).toBe('third');
    expect(await readlink(join(dest, 'b/c'))).toBe('/elsewhere');
  });

  it('replaces what an unpack into a non-empty directory finds there', async () => {
    await mkdir(join(dest, 'etc'));
    await writeFile(join(dest, 'etc/hostname'), 'before');
    await writeFile(join(dest, 'etc/keep'), 'kept');
    await unpack(await tarOf([{ name: 'etc/hostname', content: 'after' }]));
    expect(await readFile(join(dest, 'etc/hostname'), 'utf8')).toBe('after');
    expect(await readFile(join(dest, 'etc/keep'), 'utf8')).toBe('kept');
  });

  it.each([
    ['a plain', (b: Buffer) => b],
    ['a gzip', (b: Buffer) => gzipSync(b)],
  ])('ends the reading of %s input when the unpack fails before its end', async (_, encode) => {
    // A layer still being downloaded: its reader holds a file open until it is ended.
    const hostile = encode(await tarOf([{ name: 'a/.wh...', content: '' }]));
    let ended = false;
    async function* stillGrowing() {
      try {
        yield hostile.subarray(0, 512);
        yield hostile.subarray(512);
        // More is on its way: the reader waits at the end of what is written.
        for (;;) yield await new Promise<Buffer>((resolve) => setTimeout(() => resolve(Buffer.alloc(0)), 5));
      } finally {
        ended = true;
      }
    }
    const input = Readable.from(stillGrowing());
    const error = await unpackLayer(input, dest, { lowerDirs: [] }).catch((e: unknown) => e);
    expect(isCspecError(error)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(input.destroyed).toBe(true);
    expect(ended).toBe(true);
  });

  it('says clearly when the input is not a tar', async () => {
    const error = await unpack(Buffer.from('this is not a tar archive, just text'.repeat(40))).catch(
      (e: unknown) => e,
    );
    expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
    expect((error as Error).message).toContain('cannot read it as a tar archive');
  });
});

describe('unpacking for a user namespace', () => {
  const ids: NamespaceIds = {
    uidMap: [
      { inside: 0, outside: 1001, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ],
    gidMap: [
      { inside: 0, outside: 1001, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ],
    user: 'ada',
  };

  it('marks opaque dirs with the xattr overlayfs reads with userxattr', () => {
    expect(opaqueXattr(true)).toBe('user.overlay.opaque');
    expect(opaqueXattr(false)).toBe('trusted.overlay.opaque');
  });

  it('drops the overlay xattrs of an image in both modes, trusted.* in a user namespace', () => {
    for (const userns of [false, true]) {
      expect(keepsXattr('trusted.overlay.opaque', userns)).toBe(false);
      expect(keepsXattr('user.overlay.redirect', userns)).toBe(false);
      expect(keepsXattr('security.capability', userns)).toBe(true);
      expect(keepsXattr('user.origin', userns)).toBe(true);
    }
    expect(keepsXattr('trusted.md5', false)).toBe(true);
    expect(keepsXattr('trusted.md5', true)).toBe(false);
  });

  it('names the entry, its ids, the mapped range and the fix for an unmapped owner', () => {
    expect(unmappedOwner('etc/shadow', { uid: 0, gid: 42 }, ids, 'layer 1')).toBeUndefined();
    expect(unmappedOwner('x', { uid: 65536, gid: 65536 }, ids, 'layer 1')).toBeUndefined();
    const error = unmappedOwner('opt/data/f', { uid: 70000, gid: 0 }, ids, 'layer 2 of test/image');
    expect(isCspecError(error, 'CSPEC_ID_NOT_MAPPED')).toBe(true);
    expect(error?.message).toBe(
      'layer 2 of test/image: entry "opt/data/f" belongs to uid 70000 / gid 0, which the user namespace does not map (it maps uids 0, 1-65536 and gids 0, 1-65536: 0 is ada, 1 and up are ada\'s subordinate ids from /etc/subuid and /etc/subgid); nothing of the layer was kept',
    );
    expect(error?.hint).toContain('at least 70000 ids in /etc/subuid and /etc/subgid');
    expect(error?.hint).toContain('"ada:100000:131072"');
    const alone = { ...ids, uidMap: ids.uidMap.slice(0, 1), gidMap: ids.gidMap.slice(0, 1) };
    expect(unmappedOwner('f', { uid: 0, gid: 5 }, alone, 'layer')?.message).toContain(
      'it maps uids 0 and gids 0: 0 is ada, ada has no subordinate ids',
    );
  });

  describe('as root of the host, with the user namespace rules', () => {
    let root: string;
    let dest: string;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'cspec-unpack-userns-'));
      dest = join(root, 'layer');
      await mkdir(dest);
    });
    afterEach(() => rm(root, { recursive: true, force: true }));
    const unpack = (bytes: Buffer, lowerDirs: string[] = []) =>
      unpackLayer(Readable.from([bytes]), dest, { lowerDirs, userNamespace: ids, label: 'layer 1' });

    it('skips device nodes (and hard links to them), makes fifos and whiteouts, marks opaque dirs user.overlay.opaque', async () => {
      const result = await unpack(
        await tarOf([
          { name: 'dev/', type: 'directory' },
          { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
          { name: 'dev/also-null', type: 'link', linkname: 'dev/null' },
          { name: 'run/pipe', type: 'fifo', mode: 0o620, uid: 999, gid: 5 },
          { name: 'etc/.wh.motd', content: '' },
          { name: 'usr/share/doc/', type: 'directory' },
          { name: 'usr/share/doc/.wh..wh..opq', content: '' },
          {
            name: 'usr/share/doc/new',
            content: 'n',
            pax: {
              'SCHILY.xattr.trusted.overlay.opaque': 'y',
              'SCHILY.xattr.user.overlay.redirect': '/x',
              'SCHILY.xattr.trusted.md5': 'abc',
              'SCHILY.xattr.user.origin': 'test',
            },
          },
        ]),
      );
      expect(await readdir(join(dest, 'dev'))).toEqual([]);
      const pipe = await lstat(join(dest, 'run/pipe'));
      expect([pipe.isFIFO(), pipe.mode & 0o7777, pipe.uid, pipe.gid]).toEqual([true, 0o620, 999, 5]);
      const whiteout = await lstat(join(dest, 'etc/motd'));
      expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
      expect(result.opaqueDirs).toEqual(['usr/share/doc']);
      expect(xattr(join(dest, 'usr/share/doc'), 'user.overlay.opaque')).toBe('y');
      expect(() => xattr(join(dest, 'usr/share/doc'), 'trusted.overlay.opaque')).toThrow();
      const file = join(dest, 'usr/share/doc/new');
      expect(xattr(file, 'user.origin')).toBe('test');
      for (const name of ['trusted.overlay.opaque', 'user.overlay.redirect', 'trusted.md5'])
        expect(() => xattr(file, name)).toThrow();
    });

    it.each([
      ['a file', { name: 'opt/data', uid: 70000, gid: 0, content: 'x' }, 'opt/data', 'uid 70000 / gid 0'],
      ['a directory', { name: 'srv/', type: 'directory', uid: 0, gid: 65537 }, 'srv', 'uid 0 / gid 65537'],
      ['a fifo', { name: 'p', type: 'fifo', uid: 80000, gid: 80000 }, 'p', 'uid 80000 / gid 80000'],
      ['the root', { name: './', type: 'directory', uid: 70000, gid: 0 }, '/', 'uid 70000 / gid 0'],
    ] as const)('refuses %s owned by an unmapped id', async (_what, entry, path, owner) => {
      const error = await unpack(await tarOf([{ name: 'ok', content: 'x' }, entry as Entry])).catch(
        (e: unknown) => e,
      );
      expect(isCspecError(error, 'CSPEC_ID_NOT_MAPPED')).toBe(true);
      expect((error as Error).message).toContain(`layer 1: entry "${path}" belongs to ${owner}`);
    });

    it('does not ask a whiteout or a device node it skips for a mapped owner', async () => {
      await unpack(
        await tarOf([
          { name: '.wh.gone', content: '', uid: 70000 },
          { name: 'console', type: 'character-device', devmajor: 5, devminor: 1, uid: 70000 },
        ]),
      );
      expect(await readdir(dest)).toEqual(['gone']);
    });
  });
});
