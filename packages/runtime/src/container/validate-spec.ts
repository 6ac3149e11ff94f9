import { statSync } from 'node:fs';
import { availableParallelism, constants as osConstants } from 'node:os';
import { isAbsolute, posix } from 'node:path';
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

/** Docker's floor for `--cpus` (the kernel takes a CFS quota of at least 1 ms per 100 ms period). */
export const MIN_CPUS = 0.01;
/** The kernel's PID_MAX_LIMIT on 64-bit hosts: pids.max takes no more. */
export const MAX_PIDS = 4_194_304;
/** HOST_NAME_MAX: sethostname(2) takes at most this many bytes. */
export const MAX_HOSTNAME_LENGTH = 64;
/** Largest uid or gid (2^32 - 2; -1 means "unchanged" to the kernel). */
const MAX_ID = 4_294_967_294;

export interface ValidateSpecOptions {
  /** CPUs this process may run on; `resources.cpus` may not ask for more. @default os.availableParallelism() */
  readonly hostCpus?: number;
}

function checkPort(value: unknown, what: string, allowZero: boolean): number {
  const n = typeof value === 'number' ? value : Number.NaN;
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65_535) {
    throw invalid(
      `${what} ${typeof value === 'string' ? JSON.stringify(value) : String(value)} is out of range — ports are whole numbers from 1 to 65535`,
    );
  }
  return n;
}

/** A string with no NUL byte (the kernel and runc cut C strings there). */
function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw invalid(`${field} must be a string, got ${describe(value)}`);
  }
  if (value.includes('\0')) throw invalid(`${field} contains a NUL character, which no process can receive`);
  return value;
}

function checkStrings(value: unknown, field: string): void {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array of strings, got ${describe(value)}`);
  for (const [i, v] of value.entries()) checkString(v, `${field}[${i}]`);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function checkRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${field} must be an object of strings, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkPath(path: unknown, what: string): void {
  if (typeof path !== 'string' || !isAbsolute(path)) {
    throw invalid(`${what} "${String(path)}" must be an absolute path`);
  }
  checkString(path, what);
}

/** An absolute path inside the container: no `..` (it would point elsewhere than it says), not `/` itself. */
function checkContainerPath(path: unknown, what: string): void {
  checkPath(path, what);
  const p = path as string;
  if (p.split('/').includes('..')) {
    throw invalid(`${what} "${p}" contains "..": give the path it stands for, e.g. "${posix.normalize(p)}"`);
  }
  if (posix.normalize(p) === '/')
    throw invalid(`${what} "${p}" is the container's root: give a directory under it`);
}

function checkHostPath(path: unknown, what: string, directory: boolean): void {
  checkPath(path, what);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path as string).isDirectory();
  } catch {
    throw invalid(`${what} "${String(path)}" does not exist on the host — create it first or fix the path`);
  }
  if (directory && !isDirectory) throw invalid(`${what} "${String(path)}" is not a directory`);
}

function checkId(value: unknown, field: string): void {
  if (
    value !== undefined &&
    !(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_ID)
  ) {
    throw invalid(`${field} must be a whole number from 0 to ${MAX_ID}, got ${describe(value)}`);
  }
}

function checkMode(value: unknown, field: string): void {
  if (
    value !== undefined &&
    !(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0o7777)
  ) {
    throw invalid(`${field} must be a file mode from 0 to 0o7777, got ${describe(value)}`);
  }
}

/** Container and network names (Docker's rule, at most 128 characters). */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Letters, digits, `_`, `.` and `-`, starting with a letter or digit: what resolvers and sethostname take. */
const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkHostName(value: unknown, field: string, maxLength: number): void {
  const name = checkString(value, field);
  if (name.length === 0 || name.length > maxLength || !HOST_NAME.test(name)) {
    throw invalid(
      `${field} "${name.length > 80 ? `${name.slice(0, 80)}…` : name}" (${name.length} characters) is invalid — use 1 to ${maxLength} letters, digits, "_", "." and "-", starting with a letter or digit`,
    );
  }
}

/** POSIX signal names Node knows (SIGTERM, SIGUSR1, ...), and the real-time ones runc accepts. */
export function isKnownSignal(signal: string): boolean {
  if (/^\d+$/.test(signal)) return Number(signal) >= 1 && Number(signal) <= 64;
  const name = signal.toUpperCase().replace(/^SIG/, '');
  if (`SIG${name}` in osConstants.signals) return true;
  const rt = /^RTM(IN|AX)(?:([+-])(\d+))?$/.exec(name);
  if (!rt) return false;
  if (rt[2] === undefined) return true;
  const n = Number(rt[3]);
  return (rt[1] === 'IN' ? rt[2] === '+' : rt[2] === '-') && n >= 1 && n <= 14;
}

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

/**
 * Validates a spec once, before anything is created, and fills in defaults.
 * Every value that reaches runc or the kernel is checked here, and a bad one
 * is reported as CSPEC_INVALID_SPEC naming its field.
 */
export function validateSpec(spec: ContainerSpec, options: ValidateSpecOptions = {}): ResolvedSpec {
  if (typeof spec !== 'object' || spec === null) throw invalid('container spec must be an object');
  if (typeof spec.image !== 'string' || spec.image.trim() === '') throw invalid('image is required');
  checkString(spec.image, 'image');
  if (spec.name !== undefined && (typeof spec.name !== 'string' || !NAME.test(spec.name))) {
    throw invalid(
      `container name ${describe(spec.name)} is invalid — use up to 128 letters, digits, "_", "." and "-", starting with a letter or digit`,
    );
  }
  if (spec.command !== undefined) checkStrings(spec.command, 'command');
  if (spec.entrypoint !== undefined) checkStrings(spec.entrypoint, 'entrypoint');
  if (spec.env !== undefined) {
    for (const [key, value] of Object.entries(checkRecord(spec.env, 'env'))) {
      if (key === '' || key.includes('=') || key.includes('\0')) {
        throw invalid(
          `env name ${JSON.stringify(key)} is invalid — a variable name must be non-empty and contain neither "=" nor NUL`,
        );
      }
      checkString(value, `env.${key}`);
    }
  }
  if (spec.labels !== undefined) {
    for (const [key, value] of Object.entries(checkRecord(spec.labels, 'labels'))) {
      if (key === '' || key.includes('\0'))
        throw invalid(`label name ${JSON.stringify(key)} is invalid — use a non-empty name`);
      checkString(value, `labels.${key}`);
    }
  }
  if (spec.user !== undefined) {
    const user = checkString(spec.user, 'user');
    if (!/^[^:\s]+(:[^:\s]+)?$/.test(user)) {
      throw invalid(`user ${JSON.stringify(user)} is invalid — use name, uid, name:group or uid:gid`);
    }
    for (const part of user.split(':')) {
      if (/^\d+$/.test(part) && Number(part) > MAX_ID)
        throw invalid(`user ${JSON.stringify(user)}: ids go up to ${MAX_ID}`);
    }
  }
  if (spec.workingDir !== undefined) checkContainerPath(spec.workingDir, 'working dir');
  if (spec.hostname !== undefined) checkHostName(spec.hostname, 'hostname', MAX_HOSTNAME_LENGTH);
  if (spec.ports !== undefined && !Array.isArray(spec.ports))
    throw invalid(`ports must be an array, got ${describe(spec.ports)}`);
  const ports = (spec.ports ?? []).map((p) =>
    typeof p === 'object' && p !== null
      ? { container: checkPort(p.container, 'port', false), host: checkPort(p.host ?? 0, 'host port', true) }
      : { container: checkPort(p, 'port', false), host: 0 },
  );
  const seen = new Set<number>();
  for (const p of ports) {
    if (seen.has(p.container)) throw invalid(`port ${p.container} is published twice`);
    seen.add(p.container);
  }
  if (spec.mounts !== undefined && !Array.isArray(spec.mounts))
    throw invalid(`mounts must be an array, got ${describe(spec.mounts)}`);
  for (const m of spec.mounts ?? []) {
    checkContainerPath(m.target, 'mount target');
    if (m.type === 'bind') {
      checkHostPath(m.source, 'bind mount source', false);
      if (m.readonly !== undefined && typeof m.readonly !== 'boolean') {
        throw invalid(`mount ${m.target}: readonly must be true or false, got ${describe(m.readonly)}`);
      }
    } else if (m.type === 'overlay') {
      checkPath(m.source, 'overlay mount source');
      if (/[:,]/.test(m.source)) {
        throw invalid(
          `overlay mount source "${m.source}" contains ":" or ",", which overlayfs cannot take in a lower directory — use a directory whose path has neither`,
        );
      }
      checkHostPath(m.source, 'overlay mount source', true);
    } else if (m.type === 'tmpfs') {
      if (m.sizeBytes !== undefined && !(Number.isSafeInteger(m.sizeBytes) && m.sizeBytes > 0)) {
        throw invalid(
          `tmpfs ${m.target}: sizeBytes must be a whole number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}, got ${describe(m.sizeBytes)}`,
        );
      }
      checkMode(m.mode, `tmpfs ${m.target}: mode`);
    } else throw invalid(`unknown mount type ${JSON.stringify((m as { type: unknown }).type)}`);
  }
  if (spec.files !== undefined && !Array.isArray(spec.files))
    throw invalid(`files must be an array, got ${describe(spec.files)}`);
  for (const f of spec.files ?? []) {
    checkContainerPath(f.target, 'file target');
    const given = [f.content, f.contentBase64, f.source].filter((v) => v !== undefined).length;
    if (given !== 1) throw invalid(`file ${f.target}: give exactly one of content, contentBase64 or source`);
    if (f.content !== undefined && typeof f.content !== 'string') {
      throw invalid(`file ${f.target}: content must be a string, got ${describe(f.content)}`);
    }
    if (
      f.contentBase64 !== undefined &&
      (typeof f.contentBase64 !== 'string' || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(f.contentBase64))
    ) {
      throw invalid(`file ${f.target}: contentBase64 is not base64`);
    }
    if (f.source !== undefined) checkHostPath(f.source, `file ${f.target}: source`, false);
    checkMode(f.mode, `file ${f.target}: mode`);
    checkId(f.uid, `file ${f.target}: uid`);
    checkId(f.gid, `file ${f.target}: gid`);
  }
  const r = spec.resources;
  if (r?.memoryBytes !== undefined) {
    if (typeof r.memoryBytes !== 'number' || !Number.isSafeInteger(r.memoryBytes)) {
      throw invalid(
        `resources.memoryBytes must be a whole number of bytes from 6 MiB (6291456) to ${Number.MAX_SAFE_INTEGER}, got ${describe(r.memoryBytes)}`,
      );
    }
    if (r.memoryBytes < MIN_MEMORY_BYTES) {
      throw invalid(
        `memory limit ${r.memoryBytes} bytes is below the minimum of 6 MiB that the runtime can honour — use at least 6m`,
      );
    }
  }
  if (r?.cpus !== undefined) {
    const hostCpus = options.hostCpus ?? availableParallelism();
    if (typeof r.cpus !== 'number' || !Number.isFinite(r.cpus) || r.cpus < MIN_CPUS || r.cpus > hostCpus) {
      throw invalid(
        `resources.cpus ${describe(r.cpus)} is out of range — the range of CPUs is from ${MIN_CPUS} to ${hostCpus}.00, as there ${hostCpus === 1 ? 'is only 1 CPU' : `are only ${hostCpus} CPUs`} available`,
      );
    }
  }
  if (r?.pids !== undefined && !(Number.isInteger(r.pids) && r.pids > 0 && r.pids <= MAX_PIDS)) {
    throw invalid(
      `pids limit (resources.pids) must be a whole number from 1 to ${MAX_PIDS}, got ${describe(r.pids)}`,
    );
  }
  if (spec.networks !== undefined && !Array.isArray(spec.networks))
    throw invalid(`networks must be an array, got ${describe(spec.networks)}`);
  for (const n of spec.networks ?? []) {
    if (typeof n.network !== 'string' || !NAME.test(n.network))
      throw invalid(`network name ${describe(n.network)} is invalid`);
    if (n.aliases !== undefined) {
      if (!Array.isArray(n.aliases))
        throw invalid(`network ${n.network}: aliases must be an array of strings`);
      for (const alias of n.aliases) checkHostName(alias, `network ${n.network}: alias`, 253);
    }
  }
  const timeout = spec.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  if (!(Number.isFinite(timeout) && timeout > 0))
    throw invalid(`startupTimeoutMs must be positive, got ${timeout}`);
  const stopSignal = spec.stopSignal;
  if (stopSignal !== undefined && (typeof stopSignal !== 'string' || !isKnownSignal(stopSignal))) {
    throw invalid(
      `stopSignal ${describe(stopSignal)} is not a known signal — use a name such as SIGTERM or SIGINT, or a number from 1 to 64`,
    );
  }
  if (spec.writableLayer !== undefined && spec.writableLayer !== 'tmpfs' && spec.writableLayer !== 'disk') {
    throw invalid(`writableLayer must be "tmpfs" or "disk", got ${describe(spec.writableLayer)}`);
  }
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
