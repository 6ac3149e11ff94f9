import { describe, expect, it } from 'vitest';
import { createAccountFilesCache, readAccountFiles } from './image-accounts.js';

const files = (passwd: string) => ({ passwd, group: 'root:x:0:\n' });

describe('account files cache', () => {
  it('reads an image once and keeps images apart', async () => {
    const cache = createAccountFilesCache();
    let reads = 0;
    const read = (passwd: string) => async () => {
      reads++;
      return files(passwd);
    };
    expect(await cache.get(['/l/a', '/l/b'], read('one'))).toEqual(files('one'));
    expect(await cache.get(['/l/a', '/l/b'], read('other'))).toEqual(files('one'));
    // Another stack of layers is another image, even with a layer in common.
    expect(await cache.get(['/l/a'], read('two'))).toEqual(files('two'));
    expect(reads).toBe(2);
  });

  it('shares one read between concurrent starts', async () => {
    const cache = createAccountFilesCache();
    let reads = 0;
    const read = async () => {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      return files('x');
    };
    await Promise.all([cache.get(['/l/a'], read), cache.get(['/l/a'], read)]);
    expect(reads).toBe(1);
  });

  it('does not keep a failed read', async () => {
    const cache = createAccountFilesCache();
    await expect(cache.get(['/l/a'], () => Promise.reject(new Error('EIO')))).rejects.toThrow('EIO');
    expect(await cache.get(['/l/a'], async () => files('again'))).toEqual(files('again'));
  });

  it('forgets the oldest image beyond its size', async () => {
    const cache = createAccountFilesCache(2);
    for (const dir of ['/l/1', '/l/2', '/l/3']) await cache.get([dir], async () => files(dir));
    expect(await cache.get(['/l/1'], async () => files('read again'))).toEqual(files('read again'));
    expect(await cache.get(['/l/3'], async () => files('not read'))).toEqual(files('/l/3'));
  });

  it('reads missing files as empty', async () => {
    const root = {
      readText: async (path: string) => (path === '/etc/passwd' ? 'root:x:0:0::/root:/bin/sh\n' : undefined),
    };
    expect(await readAccountFiles(root)).toEqual({ passwd: 'root:x:0:0::/root:/bin/sh\n', group: '' });
  });
});
