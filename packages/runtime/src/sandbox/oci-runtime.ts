/**
 * Drives an OCI runtime binary (runc, or crun where the host allows). The
 * exit status is recorded in the container's directory, so that any process
 * can learn how a container ended. A container that must outlive the
 * process starting it runs under a tiny `sh` monitor that writes it; one
 * that lives and dies with that process is `runc run` itself, and this
 * process writes the file when it exits (one process start fewer).
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
  /** Where and how it runs (the same for a sibling runtime made for another binary). */
  readonly host: OciRuntimeHost;
  /**
   * Starts `<runtime> run`. stdout/stderr go to `stdio` (a log file
   * descriptor, or inherited). `<dir>/exit` gets the exit code when the
   * container's init ends (written by the monitor, or by this process when
   * the runtime exits); the runtime writes `<dir>/pid` once the container's
   * process has started.
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
    /**
     * Run under the `sh` monitor, which records the exit code even after
     * this process is gone (detached containers). Otherwise the runtime is
     * the child and this process records it.
     */
    readonly monitor: boolean;
  }): ChildProcess;
  exec(id: string, args: readonly string[], options?: OciExecOptions): Promise<RawExecResult>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  /** Deletes the runtime's state; `force` kills a running container first. Missing containers are ignored. */
  delete(id: string, force?: boolean): Promise<void>;
  /** Whether the runtime holds state for the container (a file check, no process spawned). */
  exists(id: string): boolean;
}

function runArgs(bundle: string, id: string, dir: string, keep: boolean): string[] {
  const args = ['--log', join(dir, 'runtime.log'), '--log-format', 'json', 'run'];
  if (keep) args.push('--keep');
  return [...args, '--pid-file', join(dir, 'pid'), '--bundle', bundle, id];
}

/** Exit code as a shell reports it: 128 + the signal's number for a killed process. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? signalNumber(signal) : 0);
}

/** `sh -c MONITOR cspec-monitor EXIT-FILE RUNTIME ARGS...` */
const MONITOR = [
  'exit_file=$1',
  'shift',
  '"$@"',
  'rc=$?',
  // One write(2) by a builtin, no `mv`: an exec costs milliseconds. Readers take an empty file for "not yet".
  'echo "$rc" > "$exit_file"',
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
        exitCode: exitCodeOf(code, signal),
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

/** Where and how the runtime runs: as root on the host (the default), or rootless. */
export interface OciRuntimeHost {
  /** The runtime's state directory (`--root`); undefined: its default for root. */
  readonly stateRoot?: string;
  /**
   * Wraps a runtime command line so that it runs where it must (rootless: as
   * root in the engine's user namespace, or in the one of the container's
   * init, `pid`, when it lives).
   */
  readonly enter?: (argv: readonly string[], pid?: number) => readonly string[];
}

export function createOciRuntime(
  binary: string,
  name = binary.split('/').pop() ?? binary,
  host: OciRuntimeHost = {},
): OciRuntime {
  const stateRoot = host.stateRoot ?? defaultStateRoot(name);
  const rootArgs = host.stateRoot === undefined ? [] : ['--root', host.stateRoot];
  /** The init's pid, as the runtime recorded it (the container's own user namespace is entered through it). */
  const initPid = (id: string): number | undefined => {
    if (!host.enter) return undefined;
    try {
      const pid = (
        JSON.parse(readFileSync(join(stateRoot, id, 'state.json'), 'utf8')) as { init_process_pid?: number }
      ).init_process_pid;
      return pid && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  /** [file, ...args] of one runtime call. */
  const command = (args: readonly string[], id?: string): [string, string[]] => {
    const argv = [binary, ...rootArgs, ...args];
    const wrapped = host.enter ? host.enter(argv, id === undefined ? undefined : initPid(id)) : argv;
    return [wrapped[0]!, wrapped.slice(1)];
  };
  const run = async (
    args: readonly string[],
    what: string,
    tolerate?: RegExp,
    id?: string,
  ): Promise<RawExecResult> => {
    let result: RawExecResult;
    try {
      result = await collect(...command(args, id));
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
    host,
    start({ id, keep, bundle, dir, stdio, monitor }) {
      const [file, args] = command(runArgs(bundle, id, dir, keep));
      if (!monitor) {
        const child = spawn(file, args, { stdio, detached: true });
        // Registered first: every later 'exit' listener finds the file written.
        child.once('exit', (code, signal) => {
          try {
            writeFileSync(join(dir, 'exit'), `${exitCodeOf(code, signal)}\n`);
          } catch (error) {
            // Removed already (a teardown that was quicker than the runtime's exit): nobody asks any more.
            debug('exit status of %s not recorded: %s', id, (error as Error).message);
          }
        });
        debug('start %s: runtime pid %d', id, child.pid);
        return child;
      }
      const child = spawn('/bin/sh', ['-c', MONITOR, 'cspec-monitor', join(dir, 'exit'), file, ...args], {
        stdio,
        detached: true,
      });
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
      return collect(...command(argv, id), collectOptions);
    },
    async kill(id, signal, all = false) {
      await run(
        ['kill', ...(all ? ['--all'] : []), id, signal.replace(/^SIG/, '')],
        'kill',
        /does not exist|not running|container not running/,
        id,
      );
    },
    async delete(id, force = false) {
      await run(['delete', ...(force ? ['--force'] : []), id], 'delete', /does not exist|not found/, id);
    },
    exists(id) {
      return existsSync(join(stateRoot, id));
    },
  };
}
