import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayeredRoot } from '../snapshot/layered-root.js';
import { copyFilesIntoUpper } from './rootfs-files.js';

describe('copyFilesIntoUpper', () => {
  let root: string;
  let image: string;
  let upper: string;
  const view = () => createLayeredRoot([upper, image]);
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cspec-files-'));
    image = join(root, 'image');
    upper = join(root, 'upper');
    await mkdir(join(image, 'run'), { recursive: true });
    await mkdir(join(image, 'var'), { recursive: true });
    await symlink('../run', join(image, 'var', 'run'));
    await mkdir(join(image, 'srv'), { mode: 0o750 });
    await chmod(join(image, 'srv'), 0o750);
    await mkdir(upper);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('follows a linked parent inside the image instead of shadowing the link', async () => {
    await copyFilesIntoUpper(upper, view(), [{ target: '/var/run/app.pid', content: '42' }]);
    expect(await readFile(join(upper, 'run', 'app.pid'), 'utf8')).toBe('42');
    await expect(lstat(join(upper, 'var', 'run'))).rejects.toThrow();
  });

  it('creates missing parents with the mode they have in the image', async () => {
    await copyFilesIntoUpper(upper, view(), [{ target: '/srv/app/config.json', content: '{}', mode: 0o600 }]);
    expect((await stat(join(upper, 'srv'))).mode & 0o7777).toBe(0o750);
    expect((await stat(join(upper, 'srv', 'app', 'config.json'))).mode & 0o7777).toBe(0o600);
  });

  it('keeps copied links verbatim and never changes what they point to on the host', async () => {
    const source = join(root, 'source');
    await mkdir(source);
    await writeFile(join(source, 'data'), 'x');
    await symlink('data', join(source, 'relative'));
    const hostFile = join(root, 'host-secret');
    await writeFile(hostFile, 'secret', { mode: 0o644 });
    await symlink(hostFile, join(root, 'absolute-link'));

    await copyFilesIntoUpper(upper, view(), [
      { target: '/srv/tree', source },
      { target: '/srv/link', source: join(root, 'absolute-link'), mode: 0o600, uid: 1234 },
    ]);
    expect(await readlink(join(upper, 'srv', 'tree', 'relative'))).toBe('data');
    expect(await readlink(join(upper, 'srv', 'link'))).toBe(hostFile);
    expect((await lstat(join(upper, 'srv', 'link'))).uid).toBe(1234);
    const host = await stat(hostFile);
    expect(host.mode & 0o7777).toBe(0o644);
    expect(host.uid).toBe(process.getuid?.());
  });

  it('replaces a link an earlier file left instead of writing through it', async () => {
    const hostFile = join(root, 'host-file');
    await writeFile(hostFile, 'host');
    await symlink(hostFile, join(root, 'link'));
    await copyFilesIntoUpper(upper, view(), [
      { target: '/srv/x', source: join(root, 'link') },
      { target: '/srv/x', content: 'mine' },
    ]);
    expect(await readFile(hostFile, 'utf8')).toBe('host');
    expect(await readFile(join(upper, 'srv', 'x'), 'utf8')).toBe('mine');
  });

  it('gives content files and the parents it makes readable modes whatever the umask', async () => {
    const previous = process.umask(0o077);
    try {
      await copyFilesIntoUpper(upper, view(), [{ target: '/opt/app/a.txt', content: 'a' }]);
    } finally {
      process.umask(previous);
    }
    const mode = async (path: string) => ((await stat(join(upper, path))).mode & 0o7777).toString(8);
    expect(await mode('opt')).toBe('755');
    expect(await mode('opt/app')).toBe('755');
    expect(await mode('opt/app/a.txt')).toBe('644');
  });
});
