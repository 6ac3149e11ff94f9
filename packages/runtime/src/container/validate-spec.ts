import { isAbsolute } from 'node:path';
import { CspecError } from '../errors.js';
import { resolveSecurityOptions } from '../sandbox/security-options.js';
import type { WaitSpec } from '../wait/spec.js';
import type { ContainerSpec, PortSpec } from './spec.js';

/** The kernel and runc cannot run a container below this memory limit (Docker uses the same floor). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
export const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;

export interface ResolvedSpec extends ContainerSpec {
  readonly ports: readonly Required<PortSpec>[];
  readonly startupTimeoutMs: number;
  readonly writableLayer: 'tmpfs' | 'disk';
}

function invalid(message: string): CspecError {
  return new CspecError('CSPEC_INVALID_SPEC', message);
}

function checkPort(value: unknown, what: string, allowZero: boolean): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65_535) {
    throw invalid(`${what} ${String(value)} is out of range — ports are whole numbers from 1 to 65535`);
  }
  return n;
}

function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || !isAbsolute(path)) {
    throw invalid(`${what} "${String(path)}" must be an absolute path`);
  }
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const SIGNAL = /^(SIG)?[A-Z0-9+-]+$/;

function checkWait(wait: WaitSpec, ports: readonly number[]): void {
  switch (wait.type) {
    case 'ports':
      for (const p of wait.ports ?? []) checkPort(p, 'wait port', false);
      if ((wait.ports ?? ports).length === 0) {
        throw invalid(
          'waiting for listening ports needs ports to check — publish them (ports) or list them (wait.ports)',
        );
      }
      return;
    case 'log':
      try {
        new RegExp(wait.pattern, wait.flags);
      } catch (error) {
        throw invalid(
          `wait log pattern /${wait.pattern}/ is not a valid regular expression: ${(error as Error).message}`,
        );
      }
      if (wait.after !== undefined) {
        try {
          new RegExp(wait.after, 'm');
        } catch (error) {
          throw invalid(
            `wait log after /${wait.after}/ is not a valid regular expression: ${(error as Error).message}`,
          );
        }
      }
      if (wait.times !== undefined && (!Number.isInteger(wait.times) || wait.times < 1)) {
        throw invalid(`wait log times must be a whole number >= 1, got ${wait.times}`);
      }
      return;
    case 'http':
      checkPort(wait.port, 'wait HTTP port', false);
      if (!ports.includes(wait.port)) {
        throw invalid(`waiting for HTTP on port ${wait.port} needs that port published — add it to ports`);
      }
      return;
    case 'command':
      if (!Array.isArray(wait.command) || wait.command.length === 0)
        throw invalid('wait command must not be empty');
      return;
    case 'exit':
      return;
    case 'healthcheck':
      return;
    case 'all':
      for (const w of wait.of) checkWait(w, ports);
      return;
    default:
      throw invalid(`unknown wait strategy ${JSON.stringify((wait as { type: unknown }).type)}`);
  }
}

/** Validates a spec once, before anything is created, and fills in defaults. */
export function validateSpec(spec: ContainerSpec): ResolvedSpec {
  if (typeof spec !== 'object' || spec === null) throw invalid('container spec must be an object');
  if (typeof spec.image !== 'string' || spec.image.trim() === '') throw invalid('image is required');
  if (spec.name !== undefined && !NAME.test(spec.name)) {
    throw invalid(`container name "${spec.name}" is invalid — use letters, digits, "_", "." and "-"`);
  }
  const ports = (spec.ports ?? []).map((p) =>
    typeof p === 'number'
      ? { container: checkPort(p, 'port', false), host: 0 }
      : { container: checkPort(p.container, 'port', false), host: checkPort(p.host ?? 0, 'host port', true) },
  );
  const seen = new Set<number>();
  for (const p of ports) {
    if (seen.has(p.container)) throw invalid(`port ${p.container} is published twice`);
    seen.add(p.container);
  }
  for (const m of spec.mounts ?? []) {
    checkPath(m.target, 'mount target');
    if (m.type === 'bind') checkPath(m.source, 'bind mount source');
    else if (m.type === 'overlay') {
      checkPath(m.source, 'overlay mount source');
      if (/[:,]/.test(m.source)) {
        throw invalid(
          `overlay mount source "${m.source}" contains ":" or ",", which overlayfs cannot take in a lower directory — use a directory whose path has neither`,
        );
      }
    } else if (m.type !== 'tmpfs')
      throw invalid(`unknown mount type ${JSON.stringify((m as { type: unknown }).type)}`);
  }
  for (const f of spec.files ?? []) {
    checkPath(f.target, 'file target');
    const given = [f.content, f.contentBase64, f.source].filter((v) => v !== undefined).length;
    if (given !== 1) throw invalid(`file ${f.target}: give exactly one of content, contentBase64 or source`);
  }
  const r = spec.resources;
  if (r?.memoryBytes !== undefined) {
    if (!Number.isFinite(r.memoryBytes) || r.memoryBytes < MIN_MEMORY_BYTES) {
      throw invalid(
        `memory limit ${r.memoryBytes} bytes is below the minimum of 6 MiB that the runtime can honour — use at least 6m`,
      );
    }
  }
  if (r?.cpus !== undefined && !(Number.isFinite(r.cpus) && r.cpus > 0)) {
    throw invalid(`cpus must be a positive number (e.g. 0.5), got ${r.cpus}`);
  }
  if (r?.pids !== undefined && !(Number.isInteger(r.pids) && r.pids > 0)) {
    throw invalid(`pids limit must be a whole number >= 1, got ${r.pids}`);
  }
  for (const n of spec.networks ?? []) {
    if (!n.network || !NAME.test(n.network)) throw invalid(`network name "${n.network}" is invalid`);
  }
  if (spec.command !== undefined && !Array.isArray(spec.command))
    throw invalid('command must be an array of strings');
  if (spec.entrypoint !== undefined && !Array.isArray(spec.entrypoint)) {
    throw invalid('entrypoint must be an array of strings');
  }
  if (spec.workingDir !== undefined) checkPath(spec.workingDir, 'working dir');
  const timeout = spec.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  if (!(Number.isFinite(timeout) && timeout > 0))
    throw invalid(`startupTimeoutMs must be positive, got ${timeout}`);
  const stopSignal = spec.stopSignal;
  if (stopSignal !== undefined && !SIGNAL.test(stopSignal))
    throw invalid(`stop signal "${stopSignal}" is invalid`);
  const initCache = spec.initCache;
  if (initCache !== undefined && typeof initCache !== 'boolean') {
    if (typeof initCache !== 'object' || initCache === null || typeof initCache.doneLog !== 'string') {
      throw invalid('initCache must be true, false or { doneLog, dataDir? }');
    }
    try {
      new RegExp(initCache.doneLog);
    } catch (error) {
      throw invalid(
        `initCache.doneLog /${initCache.doneLog}/ is not a valid regular expression: ${(error as Error).message}`,
      );
    }
    if (initCache.dataDir !== undefined) checkPath(initCache.dataDir, 'initCache.dataDir');
  }
  resolveSecurityOptions(spec.securityOpt);
  if (spec.wait)
    checkWait(
      spec.wait,
      ports.map((p) => p.container),
    );
  return {
    ...spec,
    ports,
    startupTimeoutMs: timeout,
    writableLayer: spec.writableLayer ?? 'tmpfs',
  };
}
