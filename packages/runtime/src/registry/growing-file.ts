/**
 * A file one task is still writing (a layer download) and another reads
 * behind it (the unpack): the reader waits at the end of what is written
 * until more is, and ends when the writer is done, or fails with the
 * writer's error. Nothing read from it is trusted before the writer is done
 * well: a pull checks the blob's digest and the layer's diff id before it
 * publishes the layer.
 */
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';

const CHUNK = 1024 * 1024;

export interface GrowingFile {
  /** The writer: `bytes` of the file, from its start, are written. */
  written(bytes: number): void;
  /**
   * The writer is done: with an error, readers fail with it; else the file is complete, and may have
   * been moved to `movedTo` (a reader that has not opened it yet opens it there).
   */
  finish(error?: unknown, movedTo?: string): void;
  /** The writer's error, once it has failed. */
  readonly error: unknown;
  /** A reader of the whole file as it grows. */
  read(): Readable;
}

export function createGrowingFile(path: string): GrowingFile {
  let size = 0;
  let done = false;
  let failure: unknown;
  let finalPath: string | undefined;
  let wake: (() => void) | undefined;
  let changed = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const notify = () => {
    wake?.();
    changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
  };
  const openFile = async () => {
    for (;;) {
      try {
        return await open(path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        if (failure !== undefined) throw failure;
        // Complete and moved away (the rename comes just before `finish`: wait for that).
        if (done && finalPath) return open(finalPath, 'r');
        if (done) throw error;
        await changed;
      }
    }
  };
  async function* chunks() {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      for (let at = 0; ; ) {
        if (failure !== undefined) throw failure;
        if (at < size) {
          // Opened once something is written: the writer creates the file first.
          handle ??= await openFile();
          const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - at));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
          if (bytesRead > 0) {
            at += bytesRead;
            yield buffer.subarray(0, bytesRead);
            continue;
          }
        } else if (done) {
          return;
        }
        await changed;
      }
    } finally {
      await handle?.close();
    }
  }
  return {
    written(bytes) {
      size = bytes;
      notify();
    },
    finish(error, movedTo) {
      if (error !== undefined) failure = error;
      finalPath = movedTo;
      done = true;
      notify();
    },
    get error() {
      return failure;
    },
    read: () => Readable.from(chunks(), { objectMode: false }),
  };
}
