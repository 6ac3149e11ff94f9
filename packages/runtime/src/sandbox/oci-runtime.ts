/**
 * Drives an OCI runtime binary (runc, or crun where the host allows). The
 * container's process runs under a tiny `sh` monitor that records the exit
 * status in the container's directory, so a container outlives the process
 * that started it and any process can learn how it ended.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';

const debug = createDebug('cspec:sandbox');

export interface RawExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

export interface OciExecOptions {
  readonly env?: readonly string[];
  readonly uid?: number;
  readonly gid?: number;
  readonly cwd?: string;
  readonly stdin?: string;
  readonly signal?: AbortSignal;
}

export interface OciRuntime {
  readonly name: string;
  readonly binary: string;
  /**
   * Starts `<runtime> run --keep` under the monitor. stdout/stderr go to
   * `stdio` (a log file descriptor, or inherited). The monitor writes
   * `<dir>/exit` with the exit code when the container's init ends; the
   * runtime writes `<dir>/pid` once the container's process has started.
   */
  start(options: {
    readonly id: string;
    /**
     * Keep the runtime's state and cgroup after the process exits, so the
     * caller can read what happened (OOM kills) before deleting it. Without
     * it the runtime cleans up in-process, which is cheaper than a `delete`.
     */
    readonly keep: boolean;
    readonly bundle: string;
    readonly dir: string;
    readonly stdio: StdioOptions;
  }): ChildProcess;
  exec(id: string, args: readonly string[], options?: OciExecOptions): Promise<RawExecResult>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  /** Deletes the runtime's state; `force` kills a running container first. Missing containers are ignored. */
  delete(id: string, force?: boolean): Promise<void>;
  /** Whether the runtime holds state for the container (a file check, no process spawned). */
  exists(id: string): boolean;
}

const MONITOR = [
  '"$1" --log "$4/runtime.log" --log-format json run $5 --pid-file "$4/pid" --bundle "$2" "$3"',
  'rc=$?',
  // One write(2) by a builtin, no `mv`: an exec costs milliseconds. Readers take an empty file for "not yet".
  'echo "$rc" > "$4/exit"',
  'exit "$rc"',
].join('\n');

function collect(
  binary: string,
  args: readonly string[],
  options: { stdin?: string; signal?: AbortSignal } = {},
): Promise<RawExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const all: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => {
      out.push(d);
      all.push(d);
    });
    child.stderr?.on('data', (d: Buffer) => {
      err.push(d);
      all.push(d);
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        exitCode: code ?? 128 + (signal ? signalNumber(signal) : 0),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        output: Buffer.concat(all).toString(),
      }),
    );
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** Where runc and crun keep container state when run as root without --root. */
export function defaultStateRoot(name: string): string {
  return `/run/${name}`;
}

export function createOciRuntime(binary: string, name = binary.split('/').pop() ?? binary): OciRuntime {
  const stateRoot = defaultStateRoot(name);
  const run = async (args: readonly string[], what: string, tolerate?: RegExp): Promise<RawExecResult> => {
    let result: RawExecResult;
    try {
      result = await collect(binary, args);
    } catch (error) {
      throw new CspecError('CSPEC_HOST_UNSUPPORTED', `cannot run the OCI runtime ${binary}`, {
        cause: error,
        hint: 'apt-get install -y runc',
      });
    }
    if (result.exitCode !== 0 && !tolerate?.test(result.stderr)) {
      throw new CspecError(
        'CSPEC_INTERNAL',
        `${name} ${what} failed: ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return result;
  };

  return {
    name,
    binary,
    start({ id, keep, bundle, dir, stdio }) {
      const child = spawn(
        '/bin/sh',
        ['-c', MONITOR, 'cspec-monitor', binary, bundle, id, dir, keep ? '--keep' : ''],
        {
          stdio,
          detached: true,
        },
      );
      debug('start %s: monitor pid %d', id, child.pid);
      return child;
    },
    async exec(id, args, options = {}) {
      const argv = ['exec'];
      for (const e of options.env ?? []) argv.push('--env', e);
      if (options.uid !== undefined) argv.push('--user', `${options.uid}:${options.gid ?? 0}`);
      if (options.cwd) argv.push('--cwd', options.cwd);
      argv.push(id, ...args);
      const collectOptions: { stdin?: string; signal?: AbortSignal } = {};
      if (options.stdin !== undefined) collectOptions.stdin = options.stdin;
      if (options.signal) collectOptions.signal = options.signal;
      return collect(binary, argv, collectOptions);
    },
    async kill(id, signal, all = false) {
      await run(
        ['kill', ...(all ? ['--all'] : []), id, signal.replace(/^SIG/, '')],
        'kill',
        /does not exist|not running|container not running/,
      );
    },
    async delete(id, force = false) {
      await run(['delete', ...(force ? ['--force'] : []), id], 'delete', /does not exist|not found/);
    },
    exists(id) {
      return existsSync(join(stateRoot, id));
    },
  };
}
