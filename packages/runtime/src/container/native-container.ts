import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Container,
  ContainerInfo,
  ExecOptions,
  ExecResult,
  ExitStatus,
  LogOptions,
  StopOptions,
} from '../engine/engine.js';
import type { EngineContext } from '../engine/engine-context.js';
import { CspecError } from '../errors.js';
import type { CommitChanges } from '../image/commit-image.js';
import type { LoadedImage } from '../image/types.js';
import { processUserNamespace } from '../rootless/process-namespace.js';
import { exitCodeOf } from '../sandbox/oci-runtime.js';
import { resolveUser } from '../sandbox/user-lookup.js';
import { exportTree } from '../snapshot/export-tree.js';
import { createLayeredRoot } from '../snapshot/layered-root.js';
import { type Change, changesOf } from '../snapshot/upper-changes.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { tempName } from '../util/temp-path.js';
import type { WaitSpec } from '../wait/spec.js';
import { describeWait, NotReadyError, waitFor } from '../wait/wait-for.js';
import { readLogText, streamLogFile } from './log-file.js';
import type { ContainerPaths } from './paths.js';
import type { ContainerState } from './state.js';
import { teardownContainer } from './teardown.js';

/** Something that stops forwarding a published port. */
export interface PortForward {
  close(): Promise<void>;
}

export interface NativeContainerOptions {
  readonly ctx: EngineContext;
  readonly state: ContainerState;
  readonly paths: ContainerPaths;
  /** Lower layer dirs (lowest first), for resolving users in exec. */
  readonly layerDirs: readonly string[];
  readonly forwards: readonly PortForward[];
  /** Starts the container's process again (restart); only the process that started it can. */
  readonly spawnMonitor: (() => ChildProcess) | undefined;
  readonly onRemoved: (id: string) => void;
  /**
   * The process `spawnMonitor` starts is the runtime's `run` itself, and the
   * container has no memory limit: that process's exit code is the
   * container's, and no OOM kill can have ended it — nothing to read back.
   */
  readonly exitCodeFromMonitor?: boolean;
  /** What makes the container ready, checked after start and after every restart. */
  readonly readiness?:
    | {
        readonly wait: WaitSpec;
        readonly timeoutMs: number;
        /** Log of first-start work this start skipped (init cache): log waits count its matches too (never alone). */
        readonly skippedLog?: string;
      }
    | undefined;
}

const STARTED_POLL_MS = 2;
const VANISHED_GRACE_MS = 1_000;
const SETTLE_START_MS = 10_000;
const RESTART_TIMEOUT_MS = 60_000;

/** Reads how a container ended from the files its monitor left; undefined while it runs. */
export async function readExitStatus(
  ctx: Pick<EngineContext, 'cgroups'>,
  paths: Pick<ContainerPaths, 'exit' | 'exitJson'>,
  id: string,
): Promise<ExitStatus | undefined> {
  const saved = await readJsonIfExists<ExitStatus>(paths.exitJson);
  if (saved) return saved;
  let text: string;
  try {
    text = await readFile(paths.exit, 'utf8');
  } catch {
    return undefined;
  }
  // The monitor creates the file and writes it in one call: empty means a moment before that call.
  if (!/^\d+$/.test(text.trim())) return undefined;
  const exitCode = Number(text.trim());
  const oomKilled = (await ctx.cgroups.oomKillCount(id)) > 0;
  const status = { exitCode, oomKilled };
  await writeJsonAtomic(paths.exitJson, status).catch(() => {});
  return status;
}

/** Whether the monitor has written the exit code (a killed monitor can leave the file empty). */
function exitWritten(paths: Pick<ContainerPaths, 'exit'>): boolean {
  return (statSync(paths.exit, { throwIfNoEntry: false })?.size ?? 0) > 0;
}

/** The init's host pid from the runtime's pid file; 0 while there is none. */
async function readPid(paths: Pick<ContainerPaths, 'pid'>): Promise<number> {
  const pid = Number((await readFile(paths.pid, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

/** When the container exited: the time its monitor wrote the exit file. */
export async function finishedAt(
  paths: Pick<ContainerPaths, 'exit' | 'exitJson'>,
): Promise<string | undefined> {
  for (const file of [paths.exit, paths.exitJson]) {
    try {
      return (await stat(file)).mtime.toISOString();
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * A container run by the native engine. Works both for containers this
 * process started (it holds the monitor process) and for containers found
 * on disk (it reads the monitor's files).
 */
export class NativeContainer implements Container {
  readonly id: string;
  readonly name: string;
  readonly host = '127.0.0.1';
  #state: ContainerState;
  readonly #ctx: EngineContext;
  readonly #paths: ContainerPaths;
  readonly #options: NativeContainerOptions;
  #monitor: ChildProcess | undefined;
  #exitPromise: Promise<ExitStatus> | undefined;
  #exit: ExitStatus | undefined;
  #pid: number | undefined;
  #removing: Promise<void> | undefined;

  constructor(options: NativeContainerOptions, monitor?: ChildProcess) {
    this.#options = options;
    this.#ctx = options.ctx;
    this.#state = options.state;
    this.#paths = options.paths;
    this.id = options.state.id;
    this.name = options.state.name;
    if (monitor) this.#attach(monitor);
  }

  get ports(): Readonly<Record<number, number>> {
    return Object.fromEntries(Object.entries(this.#state.ports).map(([k, v]) => [Number(k), v]));
  }

  get ipAddress(): string | undefined {
    return this.#state.ipAddress;
  }

  get state(): ContainerState {
    return this.#state;
  }

  /** Host pid of the container's init once started. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** The exit status if the container has exited (as far as this process knows). */
  get exited(): ExitStatus | undefined {
    return this.#exit;
  }

  #attach(monitor: ChildProcess): void {
    this.#monitor = monitor;
    this.#exit = undefined;
    this.#exitPromise = new Promise<ExitStatus>((resolve) => {
      monitor.once('exit', async (code, signal) => {
        const status = this.#options.exitCodeFromMonitor
          ? { exitCode: exitCodeOf(code, signal), oomKilled: false }
          : ((await readExitStatus(this.#ctx, this.#paths, this.id).catch(() => undefined)) ?? {
              exitCode: 137,
              oomKilled: false,
            });
        this.#exit = status;
        resolve(status);
      });
    });
  }

  /**
   * Resolves with the init's pid once the runtime started the process, or
   * rejects with the runtime's own error if it could not (e.g. the command
   * does not exist in the image).
   */
  async waitStarted(signal: AbortSignal): Promise<number> {
    for (;;) {
      const pid = await readPid(this.#paths);
      if (pid > 0 && (await this.#execed(pid))) {
        this.#pid = pid;
        return pid;
      }
      if (this.#exit) {
        throw await this.#startFailure();
      }
      signal.throwIfAborted();
      await sleep(STARTED_POLL_MS, undefined, { signal });
    }
  }

  /**
   * Whether the runtime's init has exec'd the container's command. The pid
   * file appears a moment before (runc's init is still `runc:[2:INIT]`);
   * deleting the container in that window makes runc orphan its init.
   */
  async #execed(pid: number): Promise<boolean> {
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
    const runtime = this.#ctx.runtime.name;
    // A process that is gone already has run (and ended): the exit status tells the rest.
    return comm !== runtime && !comm.startsWith(`${runtime}:`);
  }

  /**
   * Waits until the readiness strategy passes. Log checks only see what was
   * written since `logsFrom` (a byte offset: the size of the log at a restart).
   */
  async waitReady(signal: AbortSignal, deadline: AbortSignal, logsFrom = 0): Promise<void> {
    const readiness = this.#options.readiness;
    if (!readiness) return;
    const what = describeWait(readiness.wait);
    await waitFor(
      readiness.wait,
      {
        pid: () => this.pid,
        // Rootless, the address is inside the rootless network namespace: the host cannot dial it.
        ipAddress: this.#options.ctx.config.rootless ? undefined : this.#state.ipAddress,
        ports: this.ports,
        exec: (command, s) => this.exec(command, { signal: s }),
        logText: async () =>
          logsFrom === 0
            ? this.logText()
            : ((await readFile(this.#paths.log).catch(() => undefined))?.subarray(logsFrom).toString() ?? ''),
        logPath: this.#paths.log,
        exited: () => this.#exit,
        // Only the first start skipped that work; a restart prints what it prints.
        ...(logsFrom === 0 && readiness.skippedLog ? { skippedLog: readiness.skippedLog } : {}),
      },
      signal,
    ).catch((error: unknown) => {
      if (deadline.aborted) {
        throw new CspecError(
          'CSPEC_CONTAINER_NOT_READY',
          `container did not become ready within ${readiness.timeoutMs} ms (waiting for ${what}) — raise startupTimeoutMs or check the wait strategy`,
        );
      }
      if (error instanceof NotReadyError) {
        throw new CspecError('CSPEC_CONTAINER_NOT_READY', `${error.message} (waiting for ${what})`);
      }
      throw error;
    });
  }

  /** For a handle found on disk: learns the init's pid if the runtime recorded one. */
  async loadStarted(): Promise<void> {
    const pid = await readPid(this.#paths);
    if (pid > 0) this.#pid = pid;
  }

  /**
   * For a handle without the monitor: whether the container ended in a way
   * that will never be recorded (removed, or its monitor killed with it).
   */
  #vanished(): boolean {
    if (this.#monitor) return false;
    if (!existsSync(this.#paths.dir)) return true;
    return this.#pid !== undefined && !existsSync(`/proc/${this.#pid}`) && !exitWritten(this.#paths);
  }

  /**
   * Removal while the runtime is still creating the container: let it finish
   * (or fail) so it can be deleted the normal way — killing it mid-create
   * would orphan its processes. Gives up and kills after a while.
   */
  async #settleStart(monitor: ChildProcess): Promise<void> {
    const settled = await this.waitStarted(AbortSignal.timeout(SETTLE_START_MS)).then(
      () => true,
      () => this.#exit !== undefined,
    );
    if (settled) return;
    try {
      // The monitor leads a process group of its own, the runtime included.
      process.kill(-monitor.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.#exitPromise;
  }

  async #startFailure(): Promise<CspecError> {
    const text = await readFile(this.#paths.runtimeLog, 'utf8').catch(() => '');
    const messages = text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        try {
          const entry = JSON.parse(line) as { level?: string; msg?: string };
          return entry.level === 'error' ? (entry.msg ?? '') : '';
        } catch {
          return line;
        }
      })
      .filter(Boolean);
    const message = messages.at(-1) ?? `the OCI runtime exited with code ${this.#exit?.exitCode}`;
    const notFound = /exec: "([^"]*)": .*(executable file not found|no such file or directory)/.exec(message);
    if (notFound) {
      const command = notFound[1];
      return new CspecError(
        'CSPEC_COMMAND_NOT_FOUND',
        `command "${command}" was not found in image ${this.#state.image} — check the command and the image's PATH`,
        { cause: new Error(message) },
      );
    }
    return new CspecError('CSPEC_CONTAINER_START_FAILED', `the container could not start: ${message}`);
  }

  async info(): Promise<ContainerInfo> {
    const exit = this.#exit ?? (await readExitStatus(this.#ctx, this.#paths, this.id));
    return {
      id: this.id,
      name: this.name,
      image: this.#state.image,
      status: exit ? 'exited' : this.#running() ? 'running' : 'created',
      createdAt: this.#state.createdAt,
      finishedAt: exit ? await finishedAt(this.#paths) : undefined,
      command: this.#state.command,
      ports: this.ports,
      exit,
      pid: exit || !this.#running() ? undefined : this.#pid,
      labels: this.#state.labels,
      ipAddress: this.#state.ipAddress,
      detached: this.#state.sessionId === null,
    };
  }

  #running(): boolean {
    if (this.#monitor) return this.#monitor.exitCode === null && this.#monitor.signalCode === null;
    return this.#pid !== undefined && existsSync(`/proc/${this.#pid}`);
  }

  mappedPort(containerPort: number): number {
    const port = this.#state.ports[String(containerPort)];
    if (port === undefined) {
      const published = Object.keys(this.#state.ports);
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `port ${containerPort} of container ${this.name} is not published — published: ${published.length ? published.join(', ') : 'none'}; add it to ports`,
      );
    }
    return port;
  }

  async exec(command: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (command.length === 0) throw new CspecError('CSPEC_INVALID_SPEC', 'exec needs a command');
    if (this.#exit || (await readExitStatus(this.#ctx, this.#paths, this.id))) {
      throw new CspecError(
        'CSPEC_CONTAINER_NOT_FOUND',
        `cannot exec in container ${this.name}: it is not running`,
      );
    }
    let user: { uid: number; gid: number } | undefined;
    if (options.user !== undefined) {
      const root = createLayeredRoot([this.#paths.upper, ...[...this.#options.layerDirs].reverse()]);
      user = resolveUser(
        options.user,
        (await root.readText('/etc/passwd')) ?? '',
        (await root.readText('/etc/group')) ?? '',
      );
    }
    const result = await this.#ctx.runtime.exec(this.id, command, {
      env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      ...(options.workingDir ? { cwd: options.workingDir } : {}),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (
      result.exitCode !== 0 &&
      /executable file not found|exec failed: .*no such file/.test(result.stderr)
    ) {
      return { ...result, exitCode: 127 };
    }
    return result;
  }

  logs(options: LogOptions = {}): AsyncIterable<string> {
    return streamLogFile(this.#paths.log, {
      ...options,
      // A handle without the monitor (found on disk) learns of the exit from the monitor's file.
      done: () =>
        this.#exit !== undefined ||
        this.#removing !== undefined ||
        (!this.#monitor && (exitWritten(this.#paths) || this.#vanished())),
    });
  }

  logText(options: { readonly tail?: number } = {}): Promise<string> {
    return readLogText(this.#paths.log, options.tail);
  }

  async wait(): Promise<ExitStatus> {
    if (this.#exitPromise) return this.#exitPromise;
    let vanishedAt: number | undefined;
    for (;;) {
      const status = await readExitStatus(this.#ctx, this.#paths, this.id);
      if (status) {
        this.#exit = status;
        return status;
      }
      // The monitor writes the exit file right after the init ends: give it a moment.
      if (this.#vanished()) vanishedAt ??= Date.now();
      else vanishedAt = undefined;
      if (vanishedAt !== undefined && Date.now() - vanishedAt > VANISHED_GRACE_MS) {
        throw new CspecError(
          'CSPEC_CONTAINER_NOT_FOUND',
          `container ${this.name} ended without an exit status: it was removed, or its monitor process was killed`,
        );
      }
      await sleep(50);
    }
  }

  async kill(signal = 'SIGKILL'): Promise<void> {
    if (this.#exit) return;
    await this.#ctx.runtime.kill(this.id, signal, signal === 'SIGKILL' || signal === 'KILL');
  }

  async stop(options: StopOptions = {}): Promise<ExitStatus> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const current = this.#exit ?? (await readExitStatus(this.#ctx, this.#paths, this.id));
    if (current) return current;
    await this.kill(this.#state.stopSignal);
    const exited = this.wait();
    const timer = new AbortController();
    const first = await Promise.race([
      exited,
      sleep(timeoutMs, undefined, { signal: timer.signal }).then(
        () => undefined,
        () => undefined,
      ),
    ]);
    timer.abort();
    if (first) return first;
    await this.kill('SIGKILL');
    return exited;
  }

  async restart(options: StopOptions = {}): Promise<void> {
    const spawnMonitor = this.#options.spawnMonitor;
    if (!spawnMonitor || this.#removing) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        this.#removing
          ? `container ${this.name} was removed`
          : `container ${this.name} can only be restarted by the process that started it`,
        { hint: 'stop it and run a new one instead' },
      );
    }
    await this.stop(options);
    if (this.#ctx.runtime.exists(this.id)) await this.#ctx.runtime.delete(this.id, true);
    await Promise.all(
      [this.#paths.exit, this.#paths.exitJson, this.#paths.pid, this.#paths.runtimeLog].map((f) =>
        rm(f, { force: true }),
      ),
    );
    this.#pid = undefined;
    const logsFrom = (await stat(this.#paths.log).catch(() => undefined))?.size ?? 0;
    this.#attach(spawnMonitor());
    // Like the first start: one deadline for starting and becoming ready again.
    const deadline = AbortSignal.timeout(this.#options.readiness?.timeoutMs ?? RESTART_TIMEOUT_MS);
    await this.waitStarted(deadline);
    await this.waitReady(deadline, deadline, logsFrom);
  }

  /** The writable layer's upper directory (what a build step commits). */
  get upperDir(): string {
    return this.#paths.upper;
  }

  async diff(): Promise<Change[]> {
    const { config } = this.#ctx;
    if (config.rootless) {
      // Its changes may belong to subordinate ids the user cannot read: read as root of the namespace.
      const { changesInNamespace } = await import('../snapshot/upper-in-namespace.js');
      const ns = await processUserNamespace();
      return changesInNamespace(ns, config.nodePath, this.#paths.upper, this.#options.layerDirs);
    }
    return changesOf(this.#paths.upper, this.#options.layerDirs);
  }

  async commit(reference: string, changes: CommitChanges = {}): Promise<LoadedImage> {
    if (this.#removing)
      throw new CspecError('CSPEC_CONTAINER_NOT_FOUND', `container ${this.name} was removed`);
    return this.#ctx.images.commit({
      upper: this.#paths.upper,
      parent: { reference: this.#state.image, id: this.#state.imageId },
      reference,
      changes,
    });
  }

  async export(output: string | Writable, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (this.#removing)
      throw new CspecError('CSPEC_CONTAINER_NOT_FOUND', `container ${this.name} was removed`);
    const input = {
      upper: this.#paths.upper,
      layerDirs: this.#options.layerDirs,
      mountPoint: this.#paths.rootfs,
      ...(this.#ctx.config.rootless ? { userNamespace: await processUserNamespace() } : {}),
    };
    if (typeof output !== 'string') return exportTree(input, output, options.signal);
    const temp = join(dirname(output), tempName('export'));
    try {
      const file = createWriteStream(temp);
      await exportTree(input, file, options.signal);
      await new Promise<void>((resolve, reject) =>
        file.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      await rename(temp, output);
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Removes the container and everything it holds. Concurrent and repeated calls share one removal. */
  remove(): Promise<void> {
    this.#removing ??= this.#remove();
    return this.#removing;
  }

  /** Stops the port forwarders this process runs for the container (also part of `remove()`). */
  async closeForwards(): Promise<void> {
    await Promise.all(this.#options.forwards.map((f) => f.close().catch(() => {})));
  }

  async #remove(): Promise<void> {
    await this.closeForwards();
    const monitor = this.#monitor;
    const monitorAlive = () =>
      monitor !== undefined && monitor.exitCode === null && monitor.signalCode === null;
    if (monitorAlive() && this.#pid === undefined) await this.#settleStart(monitor!);
    await teardownContainer(this.#ctx, this.id, this.#paths.writable);
    // The runtime deleted the container, so the monitor ends right away.
    if (monitorAlive()) await this.#exitPromise;
    this.#options.onRemoved(this.id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}
