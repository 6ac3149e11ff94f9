import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyError, resolveInContext } from './copy-files.js';
import { parseDockerignore } from './dockerignore.js';

describe('resolveInContext', () => {
  let root: string;
  const none = () => false;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cspec-context-'));
    await mkdir(join(root, 'ok'));
    await writeFile(join(root, 'ok/a.txt'), 'a');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('follows links as if the context were the root: absolute targets and .. stop at it', async () => {
    await symlink('/ok', join(root, 'abs'));
    await symlink('../../../../ok/a.txt', join(root, 'ok/up'));
    await symlink('/etc', join(root, 'host'));
    expect(await resolveInContext(root, 'abs/a.txt', none, true)).toBe('ok/a.txt');
    expect(await resolveInContext(root, 'ok/up', none, true)).toBe('ok/a.txt');
    expect(await resolveInContext(root, 'ok/up', none, false)).toBe('ok/up');
    expect(await resolveInContext(root, 'host/passwd', none, true)).toBe('etc/passwd');
    expect(await resolveInContext(root, '../../x', none, true)).toBe('x');
    expect(await resolveInContext(root, '.', none, true)).toBe('');
  });

  it('gives up on a link loop, and refuses a link .dockerignore excludes', async () => {
    await symlink('/b', join(root, 'a'));
    await symlink('/a', join(root, 'b'));
    await expect(resolveInContext(root, 'a/x', none, true)).rejects.toThrow(CopyError);
    await symlink('ok', join(root, 'hidden'));
    const ignored = parseDockerignore('hidden\n');
    await expect(resolveInContext(root, 'hidden/a.txt', ignored, true)).rejects.toThrow(/\.dockerignore/);
  });
});
