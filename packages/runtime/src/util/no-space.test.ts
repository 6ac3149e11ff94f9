import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CspecError } from '../errors.js';
import { isNoSpace, noSpaceError } from './no-space.js';

const enospc = (path?: string) =>
  Object.assign(new Error(`ENOSPC: no space left on device, write`), {
    code: 'ENOSPC',
    ...(path ? { path } : {}),
  });

describe('isNoSpace', () => {
  it('finds ENOSPC and EDQUOT by code, by message, and in the cause chain', () => {
    expect(isNoSpace(enospc())).toBe(true);
    expect(isNoSpace(Object.assign(new Error('quota'), { code: 'EDQUOT' }))).toBe(true);
    expect(isNoSpace(new Error('tar: write error: No space left on device'))).toBe(true);
    expect(isNoSpace(new CspecError('CSPEC_IMAGE_BUILD_FAILED', 'step 3 failed', { cause: enospc() }))).toBe(
      true,
    );
    expect(isNoSpace(new Error('ENOENT: no such file'))).toBe(false);
    expect(isNoSpace(undefined)).toBe(false);
    expect(isNoSpace('ENOSPC')).toBe(false);
  });
});

describe('noSpaceError', () => {
  it('names the directory, the space needed and what is free, and keeps the cause', async () => {
    const cause = enospc(`${tmpdir()}/x`);
    const error = await noSpaceError('importing a.tar', tmpdir(), cause, 37_000_000);
    expect(error.code).toBe('CSPEC_NO_SPACE');
    expect(error.message).toMatch(
      new RegExp(
        `^importing a\\.tar failed: no space left in ${tmpdir()}; it needs about 37\\.0 MB, [\\d.]+ MB is free there$`,
      ),
    );
    expect(error.hint).toContain('cspec image prune');
    expect(error.cause).toBe(cause);
  });

  it('names the file written when it is elsewhere, and passes an existing CSPEC_NO_SPACE through', async () => {
    const error = await noSpaceError('building Dockerfile', tmpdir(), enospc('/dev/shm/other/file'));
    expect(error.message).toContain('(writing /dev/shm/other/file)');
    expect(await noSpaceError('again', '/', error)).toBe(error);
  });
});
