import { open, readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';

/** The last `lines` lines of a text (all of it when `lines` is undefined). */
export function tailLines(text: string, lines: number | undefined): string {
  if (lines === undefined) return text;
  if (lines <= 0) return '';
  const parts = text.split('\n');
  const trailing = parts[parts.length - 1] === '' ? 1 : 0;
  return parts.slice(Math.max(0, parts.length - trailing - lines)).join('\n');
}

export async function readLogText(path: string, tail?: number): Promise<string> {
  try {
    return tailLines(await readFile(path, 'utf8'), tail);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/**
 * Streams a log file: what is there (or its tail), then, with `follow`, what
 * is appended until `done()` is true and the file is drained, or the signal aborts.
 */
export async function* streamLogFile(
  path: string,
  options: { tail?: number; follow?: boolean; signal?: AbortSignal; done: () => boolean; pollMs?: number },
): AsyncGenerator<string> {
  // Bytes, not text: a character split across two reads must not become two replacement characters.
  const decoder = new StringDecoder('utf8');
  const first = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  });
  const initial = tailLines(decoder.write(first), options.tail);
  if (initial) yield initial;
  if (!options.follow) return;
  let offset = first.length;
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        const text = decoder.write(buffer.subarray(0, bytesRead));
        if (text) yield text;
        continue;
      }
      if (options.done() || options.signal?.aborted) {
        const rest = decoder.end();
        if (rest) yield rest;
        return;
      }
      try {
        await sleep(options.pollMs ?? 50, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        return;
      }
    }
  } finally {
    await handle.close();
  }
}
