/**
 * A layer unpacked by a rootless engine: as root of the engine's user
 * namespace (`nsenter`, rootless/user-namespace.ts), in a helper process
 * (unpack-main.ts) that reads the layer on stdin, so that its files get the
 * owners the image gives them (mapped to the user's subordinate ids on the
 * host). Node cannot enter a user namespace itself. Errors come back as the
 * helper's CspecError (code, message, hint).
 */
import { userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { createDebug } from '../debug.js';
import { CspecError, type CspecErrorCode } from '../errors.js';
import type { UserNamespace } from '../rootless/user-namespace.js';
import { spawnInNamespace } from './namespace-helper.js';
import type { UnpackOptions, UnpackResult } from './unpack-layer.js';

const debug = createDebug('cspec:unpack');

interface HelperAnswer {
  readonly result?: UnpackResult;
  readonly error?: {
    readonly code?: CspecErrorCode;
    readonly message: string;
    readonly hint?: string;
    readonly errno?: string;
  };
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.());
  }
}

/** The helper's error as the error unpackLayer would have thrown in this process. */
function rebuilt(answer: NonNullable<HelperAnswer['error']>): Error {
  if (answer.code)
    return new CspecError(answer.code, answer.message, answer.hint ? { hint: answer.hint } : {});
  // A full disk (ENOSPC) and its kind stay recognisable (isNoSpace).
  return Object.assign(new Error(answer.message), answer.errno ? { code: answer.errno } : {});
}

export async function unpackInNamespace(
  ns: UserNamespace,
  nodePath: string,
  input: Readable,
  dest: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const label = options.label ?? 'layer';
  options.signal?.throwIfAborted();
  const request = {
    dest,
    lowerDirs: options.lowerDirs ?? [],
    label,
    userNamespace: { uidMap: ns.uidMap, gidMap: ns.gidMap, user: userName() },
  };
  const child = spawnInNamespace(ns, nodePath, 'unpack-main', request);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let inputError: Error | undefined;
  const stop = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', stop, { once: true });
  input.once('error', (error) => {
    inputError = error;
    stop();
  });
  // The helper stops reading when it fails: the rest of the input is not needed.
  child.stdin.on('error', () => {});
  input.pipe(child.stdin);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      stderr += error.message;
      resolve(-1);
    });
    child.once('close', (c) => resolve(c));
  });
  options.signal?.removeEventListener('abort', stop);
  input.unpipe(child.stdin);
  for (const line of stderr.split('\n')) if (line.trim()) debug('unpack helper: %s', line);
  if (code !== 0) input.destroy();
  if (options.signal?.aborted) throw options.signal.reason;
  if (inputError) {
    throw new CspecError('CSPEC_INVALID_ARCHIVE', `${label}: cannot read it: ${inputError.message}`, {
      cause: inputError,
    });
  }
  let answer: HelperAnswer | undefined;
  try {
    answer = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as HelperAnswer;
  } catch {
    answer = undefined;
  }
  if (answer?.error) throw rebuilt(answer.error);
  if (code !== 0 || !answer?.result) {
    throw new CspecError(
      'CSPEC_INTERNAL',
      `${label}: unpacking it as root of the user namespace failed (exit ${code}): ${stderr.trim() || 'no output'}`,
    );
  }
  return answer.result;
}
