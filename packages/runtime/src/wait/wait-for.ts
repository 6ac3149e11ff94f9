import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult, ExitStatus } from '../engine/engine.js';
import { CspecError } from '../errors.js';
import { isListeningInside } from '../network/container-port-probe.js';
import { type FileChanges, watchFileChanges } from '../util/file-changes.js';
import type { WaitSpec } from './spec.js';

/** What a readiness check may look at. */
export interface WaitTarget {
  /** Host pid of the container's init, for reading its network namespace's sockets. */
  pid(): number | undefined;
  /** Address the host reaches the container at, when it has one. */
  readonly ipAddress: string | undefined;
  /** Published ports: container port -> host port on 127.0.0.1. */
  readonly ports: Readonly<Record<number, number>>;
  exec(command: readonly string[], signal: AbortSignal): Promise<ExecResult>;
  logText(): Promise<string>;
  /** The log file, when there is one: log waits wake up as soon as it is written. */
  readonly logPath?: string;
  /**
   * What the container would have printed before its log began: the first-start
   * work an init-cache start skipped. Log waits count its matches as well, but
   * need at least one match in the container's own log.
   */
  readonly skippedLog?: string;
  /** Set once the container has exited. */
  exited(): ExitStatus | undefined;
}

export class NotReadyError extends Error {
  constructor(
    message: string,
    readonly exitStatus?: ExitStatus,
  ) {
    super(message);
  }
}

const FAST_POLL_MS = 10;
const EXEC_POLL_MS = 100;

async function poll(
  signal: AbortSignal,
  intervalMs: number,
  target: WaitTarget,
  check: () => Promise<boolean>,
  changes?: FileChanges,
) {
  for (;;) {
    const exit = target.exited();
    if (exit)
      throw new NotReadyError(`the container exited with code ${exit.exitCode} before it was ready`, exit);
    if (await check()) return;
    signal.throwIfAborted();
    await (changes ? changes.next(intervalMs, signal) : sleep(intervalMs, undefined, { signal }));
  }
}

function tcpConnects(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Runs checks side by side until all pass; when one fails, the others stop
 * polling at once instead of running on until the deadline.
 */
async function allOf(
  checks: readonly ((signal: AbortSignal) => Promise<void>)[],
  signal: AbortSignal,
): Promise<void> {
  const failed = new AbortController();
  const both = AbortSignal.any([signal, failed.signal]);
  try {
    await Promise.all(
      checks.map((check) =>
        check(both).catch((error: unknown) => {
          failed.abort(error);
          throw error;
        }),
      ),
    );
  } finally {
    failed.abort();
  }
}

async function waitPorts(spec: { ports?: readonly number[] }, target: WaitTarget, signal: AbortSignal) {
  const ports = spec.ports ?? Object.keys(target.ports).map(Number);
  await allOf(
    ports.map(
      (port) => (signal) =>
        poll(signal, FAST_POLL_MS, target, async () => {
          const pid = target.pid();
          if (pid === undefined || !(await isListeningInside(pid, port))) return false;
          // Inside is listening; now prove the host can reach it the way clients will.
          if (!target.ipAddress) return true;
          return tcpConnects(target.ipAddress, port, signal);
        }),
    ),
    signal,
  );
}

/**
 * Whether a log wait is satisfied: `times` matches in all, of which at least
 * one this container printed after the cut — lines replayed from skipped work
 * (an init-cache start) or printed up to the `after` line never satisfy it
 * alone: they may come from a server that is gone by now.
 */
export function logWaitSatisfied(
  spec: { pattern: string; flags?: string; times?: number; after?: string },
  log: string,
  skippedLog = '',
): boolean {
  const flags = spec.flags?.includes('g') ? spec.flags : `${spec.flags ?? ''}g`;
  const count = (text: string) => (text ? (text.match(new RegExp(spec.pattern, flags))?.length ?? 0) : 0);
  let before = skippedLog;
  let live = log;
  if (spec.after !== undefined) {
    const cut = new RegExp(spec.after, 'm').exec(log);
    if (!cut) return false;
    const end = log.indexOf('\n', cut.index + cut[0].length);
    const at = end === -1 ? log.length : end + 1;
    before += log.slice(0, at);
    live = log.slice(at);
  }
  const fresh = count(live);
  return fresh > 0 && fresh + count(before) >= (spec.times ?? 1);
}

async function waitLog(
  spec: { pattern: string; flags?: string; times?: number; after?: string },
  target: WaitTarget,
  signal: AbortSignal,
) {
  const changes = target.logPath ? watchFileChanges(target.logPath) : undefined;
  try {
    await poll(
      signal,
      FAST_POLL_MS,
      target,
      async () => logWaitSatisfied(spec, await target.logText(), target.skippedLog),
      changes,
    );
  } finally {
    changes?.close();
  }
}

async function waitHttp(
  spec: { port: number; path?: string; status?: readonly number[]; method?: string },
  target: WaitTarget,
  signal: AbortSignal,
) {
  const hostPort = target.ports[spec.port];
  const base = hostPort
    ? `http://127.0.0.1:${hostPort}`
    : target.ipAddress
      ? `http://${target.ipAddress}:${spec.port}`
      : undefined;
  if (!base) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `waiting for HTTP on port ${spec.port} needs that port published — add it to ports`,
    );
  }
  const url = `${base}${spec.path ?? '/'}`;
  await poll(signal, EXEC_POLL_MS / 2, target, async () => {
    try {
      const response = await fetch(url, {
        method: spec.method ?? 'GET',
        signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]),
      });
      await response.body?.cancel();
      return spec.status
        ? spec.status.includes(response.status)
        : response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  });
}

async function waitCommand(spec: { command: readonly string[] }, target: WaitTarget, signal: AbortSignal) {
  await poll(signal, EXEC_POLL_MS, target, async () => {
    const result = await target.exec(spec.command, signal).catch(() => undefined);
    return result?.exitCode === 0;
  });
}

async function waitExit(target: WaitTarget, signal: AbortSignal) {
  for (;;) {
    const exit = target.exited();
    if (exit) {
      if (exit.exitCode === 0) return;
      throw new NotReadyError(`the one-shot container exited with code ${exit.exitCode}`, exit);
    }
    signal.throwIfAborted();
    await sleep(FAST_POLL_MS, undefined, { signal });
  }
}

/**
 * Resolves when the container is ready. The caller's `signal` carries the one
 * startup deadline that covers every phase.
 */
export async function waitFor(spec: WaitSpec, target: WaitTarget, signal: AbortSignal): Promise<void> {
  switch (spec.type) {
    case 'ports':
      return waitPorts(spec, target, signal);
    case 'log':
      return waitLog(spec, target, signal);
    case 'http':
      return waitHttp(spec, target, signal);
    case 'command':
      return waitCommand(spec, target, signal);
    case 'exit':
      return waitExit(target, signal);
    case 'healthcheck':
      throw new CspecError(
        'CSPEC_INTERNAL',
        'a healthcheck wait must be resolved to the image command first',
      );
    case 'all':
      return allOf(
        spec.of.map((s) => (signal) => waitFor(s, target, signal)),
        signal,
      );
  }
}

/** One line describing a strategy, for error messages. */
export function describeWait(spec: WaitSpec): string {
  switch (spec.type) {
    case 'ports':
      return spec.ports ? `ports ${spec.ports.join(', ')} to listen` : 'published ports to listen';
    case 'log':
      return `log to match /${spec.pattern}/${spec.times && spec.times > 1 ? ` ${spec.times} times` : ''}${spec.after !== undefined ? ` after /${spec.after}/` : ''}`;
    case 'http':
      return `HTTP ${spec.method ?? 'GET'} ${spec.path ?? '/'} on port ${spec.port}`;
    case 'command':
      return `command ${JSON.stringify(spec.command)} to succeed`;
    case 'exit':
      return 'the container to exit with code 0';
    case 'healthcheck':
      return "the image's health check to pass";
    case 'all':
      return spec.of.map(describeWait).join(' and ');
  }
}
