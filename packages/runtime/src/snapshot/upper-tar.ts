/**
 * An overlay upper directory as an image layer tar, in the image spec's form:
 * overlay whiteouts become `.wh.NAME` entries, opaque directories get a
 * `.wh..wh..opq` entry, files with several names become one file and hard
 * links. Owners, modes and mtimes are kept; extended attributes are not (yet).
 */
import { createReadStream } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Header, pack } from 'tar-stream';
import { readUpper, type UpperOptions } from './upper-changes.js';

export async function upperAsLayerTar(upper: string, options: UpperOptions = {}): Promise<Readable> {
  const entries = await readUpper(upper, options);
  const tar = pack();
  const add = (header: Partial<Header> & { name: string }, content?: Readable) =>
    new Promise<void>((resolve, reject) => {
      if (!content) {
        // An empty body (not none: a body-less file entry would wait for data).
        tar.entry(header as Header, '', (error) => (error ? reject(error) : resolve()));
        return;
      }
      const entry = tar.entry(header as Header, (error) => (error ? reject(error) : resolve()));
      pipeline(content, entry as unknown as NodeJS.WritableStream).catch(reject);
    });
  (async () => {
    const seen = new Map<string, string>(); // dev:ino -> first name, for hard links
    for (const e of entries) {
      const name = e.path.slice(1);
      const base = {
        name,
        mode: e.stats.mode & 0o7777,
        uid: e.stats.uid,
        gid: e.stats.gid,
        mtime: e.stats.mtime,
      };
      if (e.whiteout) {
        await add({
          ...base,
          name: posix.join(posix.dirname(name), `.wh.${posix.basename(name)}`),
          type: 'file',
          size: 0,
        });
      } else if (e.stats.isDirectory()) {
        await add({ ...base, type: 'directory' });
        if (e.opaque) await add({ ...base, name: `${name}/.wh..wh..opq`, type: 'file', mode: 0, size: 0 });
      } else if (e.stats.isSymbolicLink()) {
        await add({ ...base, type: 'symlink', linkname: await readlink(e.hostPath) });
      } else if (e.stats.isFile()) {
        const key = `${e.stats.dev}:${e.stats.ino}`;
        const first = e.stats.nlink > 1 ? seen.get(key) : undefined;
        if (first !== undefined) {
          await add({ ...base, type: 'link', linkname: first });
        } else {
          if (e.stats.nlink > 1) seen.set(key, name);
          await add({ ...base, type: 'file', size: e.stats.size }, createReadStream(e.hostPath));
        }
      } else if (e.stats.isFIFO()) {
        await add({ ...base, type: 'fifo' });
      } else if (e.stats.isCharacterDevice() || e.stats.isBlockDevice()) {
        await add({
          ...base,
          type: e.stats.isCharacterDevice() ? 'character-device' : 'block-device',
          devmajor: Math.floor(e.stats.rdev / 256),
          devminor: e.stats.rdev % 256,
        });
      }
      // Sockets cannot be archived; like Docker, they are left out.
    }
    tar.finalize();
  })().catch((error: unknown) => tar.destroy(error as Error));
  return tar as unknown as Readable;
}
