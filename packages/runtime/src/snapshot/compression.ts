/**
 * Layer compression, told by magic bytes (never by media type: registries
 * and archives mislabel layers): gzip `1f 8b`, zstd `28 b5 2f fd`, anything
 * else a plain tar. zstd is decoded by Node's zlib where it has it (Node >=
 * 22.15 / 23.8), else by the `zstd` program (Debian package `zstd`, which
 * cspec's setup installs): a pure-JS decoder would be several times slower on
 * large layers and one more dependency to trust with untrusted input.
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Readable, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { CspecError } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return 'zstd';
  return 'none';
}

/** A zstd decoder stream: Node's own when it has one, else `zstd -dc`. */
export function createZstdDecoder(label: string, zstdBinary = 'zstd'): Duplex {
  const native = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (native) return native();
  const child = spawn(zstdBinary, ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (error) => {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        missing
          ? new CspecError(
              'CSPEC_HOST_UNSUPPORTED',
              `${label} is zstd-compressed: that needs Node 22.15 or newer, or the zstd program, and neither is here`,
              {
                hint: 'apt-get install zstd (or run scripts/install-system-deps.sh), or use a newer Node',
                cause: error,
              },
            )
          : error,
      );
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  exited.catch(() => {});
  // Read from the start: Node drains (and drops) a child's unread output when it exits.
  const decoded = child.stdout.pipe(new PassThrough());
  // The output ends only once zstd has exited well: a damaged frame is an error, not a short tar.
  async function* output() {
    yield* decoded;
    const { code, signal } = await exited;
    if (code !== 0) {
      throw new CspecError(
        'CSPEC_INVALID_ARCHIVE',
        `${label}: zstd could not decode it: ${stderr.trim() || `exit ${code ?? signal}`}`,
      );
    }
  }
  const duplex = Duplex.from({ writable: child.stdin, readable: Readable.from(output()) });
  // A consumer that stops early (an error in the tar) must not leave zstd running.
  duplex.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  child.stdin.on('error', () => {});
  return duplex;
}
