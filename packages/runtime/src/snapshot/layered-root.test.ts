import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { createLayeredRoot } from './layered-root.js';

describe('layered root', () => {
  let root: string;
  let lower: string;
  let upper: string;
  const put = async (layer: string, path: string, content = '') => {
    await mkdir(join(layer, path, '..'), { recursive: true });
    await writeFile(join(layer, path), content);
  };
  const link = async (layer: string, path: string, target: string) => {
    await mkdir(join(layer, path, '..'), { recursive: true });
    await symlink(target, join(layer, path));
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cspec-layers-'));
    lower = join(root, 'lower');
    upper = join(root, 'upper');
    await mkdir(lower);
    await mkdir(upper);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('reads the top-most version of a file', async () => {
    await put(lower, 'etc/passwd', 'lower');
    await put(upper, 'etc/passwd', 'upper');
    expect(await createLayeredRoot([upper, lower]).readText('/etc/passwd')).toBe('upper');
    expect(await createLayeredRoot([lower]).readText('/etc/passwd')).toBe('lower');
  });

  it('honours whiteouts and opaque directories', async () => {
    await put(lower, 'etc/gone', 'x');
    await put(lower, 'opt/a', 'x');
    await put(upper, 'etc/.wh.gone');
    await put(upper, 'opt/.wh..wh..opq');
    const view = createLayeredRoot([upper, lower]);
    expect(await view.locate('/etc/gone')).toBeUndefined();
    expect(await view.locate('/opt/a')).toBeUndefined();
  });

  it('resolves absolute links inside the image, never on the host', async () => {
    await put(lower, 'usr/share/zoneinfo/UTC', 'image zone');
    await link(lower, 'etc/localtime', '/usr/share/zoneinfo/UTC');
    // /etc/hostname exists on the host; in the image the link dangles.
    await link(lower, 'etc/host-file', '/etc/hostname');
    const view = createLayeredRoot([lower]);
    expect(await view.readText('/etc/localtime')).toBe('image zone');
    expect(await view.locate('/etc/host-file')).toBeUndefined();
  });

  it('follows links in parent directories, relative and absolute', async () => {
    await mkdir(join(lower, 'run'), { recursive: true });
    await link(lower, 'var/run', '../run');
    await link(lower, 'lib', '/usr/lib');
    const view = createLayeredRoot([lower]);
    expect(await view.realPath('/var/run/app.sock')).toBe('/run/app.sock');
    expect(await view.realPath('/lib/x/../y')).toBe('/usr/lib/y');
    expect(await view.realPath('/var/run')).toBe('/var/run');
    expect(await view.realPath('/var/run', { followLast: true })).toBe('/run');
  });

  it("never looks through a lower layer's link that a higher layer's directory hides", async () => {
    // lower: etc -> <host dir>; upper: etc/ a directory. overlayfs shows only the upper etc.
    const hostDir = join(root, 'host-etc');
    await put(root, 'host-etc/passwd', 'host passwd');
    await link(lower, 'etc', hostDir);
    await mkdir(join(upper, 'etc'));
    const view = createLayeredRoot([upper, lower]);
    expect(await view.entry('/etc/passwd')).toBeUndefined();
    expect(await view.readText('/etc/passwd')).toBeUndefined();
  });

  it('reads only regular files: a fifo or device node at /etc/passwd reads as nothing', async () => {
    await mkdir(join(lower, 'etc'));
    execFileSync('mkfifo', [join(lower, 'etc/passwd')]);
    execFileSync('mknod', [join(lower, 'etc/group'), 'c', '1', '5']);
    const view = createLayeredRoot([lower]);
    expect(await view.readText('/etc/passwd')).toBeUndefined();
    expect(await view.readText('/etc/group')).toBeUndefined();
  }, 3000);

  it('gives up on link loops', async () => {
    await link(lower, 'a', '/b');
    await link(lower, 'b', '/a');
    const error = await createLayeredRoot([lower])
      .realPath('/a/x')
      .catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
  });
});
