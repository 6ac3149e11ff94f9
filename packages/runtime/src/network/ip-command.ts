/**
 * Runs iproute2's `ip`, one command or a batch of commands fed on stdin so a
 * whole setup costs one process.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createDebug } from '../debug.js';
import { abortError, CspecError } from '../errors.js';
import { captureOutput } from '../util/capture-output.js';

const debug = createDebug('cspec:network');

export interface IpOptions {
  /** Run inside this named network namespace (`ip -n NAME`). */
  readonly netns?: string;
  /**
   * A command line that runs its arguments somewhere else, `ip` after it:
   * `nsenter ... --` enters a rootless engine's namespaces (rootless-net-host.ts).
   */
  readonly prefix?: readonly string[];
  /** Keep going after a failing command in a batch (`ip -force`); the exit status still reports it. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface IpResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `ip` and returns its output whatever the exit status; throws only if
 * it cannot run. An abort is not delivered to a running `ip`: it finishes (a
 * few ms), and the abort is reported after. Killing it mid-way could create
 * a namespace or link after the caller's cleanup looked for it.
 */
export function runIpRaw(
  args: readonly string[],
  stdin?: string,
  signal?: AbortSignal,
  prefix: readonly string[] = [],
): Promise<IpResult> {
  return runCommandRaw([...prefix, 'ip', ...args], stdin, signal);
}

/** `runIpRaw` for any command line (one that runs `ip` in the end, e.g. through a shell). */
export function runCommandRaw(
  argv: readonly string[],
  stdin?: string,
  signal?: AbortSignal,
): Promise<IpResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal, argv.join(' ')));
      return;
    }
    const [file, ...rest] = argv as [string, ...string[]];
    const child = spawn(file, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
    const output = captureOutput(child);
    child.stdin.on('error', () => {
      // ip exited before reading everything; its exit status and stderr tell why.
    });
    child.stdin.end(stdin ?? '');
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          new CspecError(
            'CSPEC_HOST_UNSUPPORTED',
            `the \`${file}\` command (${file === 'ip' ? 'iproute2' : 'util-linux'}) is not installed`,
            { cause: error, hint: `apt-get install -y ${file === 'ip' ? 'iproute2' : 'util-linux'}` },
          ),
        );
      } else {
        reject(
          new CspecError('CSPEC_NETWORK_FAILED', `could not run ip: ${error.message}`, { cause: error }),
        );
      }
    });
    child.once('close', (code, sig) => {
      if (signal?.aborted) {
        reject(abortError(signal, argv.join(' ')));
        return;
      }
      resolve({
        exitCode: code ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0),
        stdout: output.stdout(),
        stderr: output.stderr(),
      });
    });
  });
}

export function failure(what: string, result: IpResult): CspecError {
  return new CspecError(
    'CSPEC_NETWORK_FAILED',
    `${what} failed (exit ${result.exitCode}): ${result.stderr.trim() || 'no error output'}`,
    { hint: 'run with DEBUG=cspec:network to see every ip command' },
  );
}

function globalArgs(options: IpOptions): string[] {
  return [...(options.netns ? ['-n', options.netns] : []), ...(options.force ? ['-force'] : [])];
}

/** `ip ARGS...`; returns stdout, throws `CSPEC_NETWORK_FAILED` with ip's stderr on failure. */
export async function runIp(args: readonly string[], options: IpOptions = {}): Promise<string> {
  const argv = [...globalArgs(options), ...args];
  debug('ip %s', argv.join(' '));
  const result = await runIpRaw(argv, undefined, options.signal, options.prefix);
  if (result.exitCode !== 0) throw failure(`ip ${argv.join(' ')}`, result);
  return result.stdout;
}

/** Runs several commands (`link add ...`, one per entry) in one `ip -batch -` process. */
export async function runIpBatch(commands: readonly string[], options: IpOptions = {}): Promise<string> {
  if (commands.length === 0) return '';
  const argv = [...globalArgs(options), '-batch', '-'];
  debug('ip %s <<\n  %s', argv.join(' '), commands.join('\n  '));
  const result = await runIpRaw(argv, `${commands.join('\n')}\n`, options.signal, options.prefix);
  if (result.exitCode !== 0) {
    throw failure(`ip ${argv.join(' ')} with commands [${commands.join('; ')}]`, result);
  }
  return result.stdout;
}
