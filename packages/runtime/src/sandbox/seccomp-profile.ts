/**
 * Seccomp profiles: the default one (seccomp-default.ts), and profiles a user
 * gives in a JSON file in Docker's format (rules with `includes`/`excludes`
 * conditions and an `archMap`) or in the OCI runtime-spec's (`linux.seccomp`).
 * Both become the OCI config's `linux.seccomp` for one container: conditions
 * are decided by the container's capabilities and the host's architecture
 * and kernel, as Docker decides them. Pure; the host facts are passed in.
 */
import { CspecError } from '../errors.js';
import { DEFAULT_SECCOMP, type DefaultSeccompData } from './seccomp-default.js';

/** The actions runc and crun take (OCI runtime-spec, "Seccomp"); SCMP_ACT_NOTIFY needs an agent cspec does not run. */
const ACTIONS = new Set([
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_TRAP',
]);
const OPERATORS = new Set([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);
const FLAGS = new Set([
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
]);
const ARCH = /^SCMP_ARCH_[A-Z0-9_]+$/;

export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: string;
}

/** When a rule applies; every field given must hold (Docker's `includes`). */
export interface SeccompCondition {
  /** Capabilities the container has (in its bounding set). */
  readonly caps?: readonly string[];
  /** Host architectures, by Go's names (amd64, arm64, ...). */
  readonly arches?: readonly string[];
  /** "major.minor": the host kernel is at least this. */
  readonly minKernel?: string;
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: string;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
  readonly includes?: SeccompCondition;
  /** The rule is dropped when any one of these holds. */
  readonly excludes?: SeccompCondition;
}

/** A profile in Docker's format; one in OCI's is the same without conditions and `archMap`. */
export interface SeccompProfile {
  readonly defaultAction: string;
  readonly defaultErrnoRet?: number;
  readonly architectures?: readonly string[];
  /** Host architecture (SCMP_ARCH_*) -> the filter's architectures: that one and its sub-architectures. */
  readonly archMap?: readonly {
    readonly architecture: string;
    readonly subArchitectures: readonly string[];
  }[];
  readonly flags?: readonly string[];
  readonly syscalls: readonly SeccompRule[];
}

/** `linux.seccomp` of an OCI config. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  flags?: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

/** The container and host a profile is resolved for. */
export interface SeccompTarget {
  /** The host's architecture by Go's name (`hostSeccompArch`). */
  readonly arch: string;
  /** The container's bounding capabilities. */
  readonly capabilities: readonly string[];
  /** The host kernel's [major, minor] (`kernelVersion`). */
  readonly kernel: readonly [number, number];
}

const NODE_TO_GO_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: 'x86',
  arm64: 'arm64',
  arm: 'arm',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips64el: 'mipsel64',
};

const GO_TO_SCMP_ARCH: Readonly<Record<string, string>> = {
  amd64: 'SCMP_ARCH_X86_64',
  x86: 'SCMP_ARCH_X86',
  x32: 'SCMP_ARCH_X32',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  s390: 'SCMP_ARCH_S390',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips64: 'SCMP_ARCH_MIPS64',
};

/** The host architecture as seccomp profiles name it (Go's names), from Node's `process.arch`. */
export function hostSeccompArch(nodeArch: string): string {
  return NODE_TO_GO_ARCH[nodeArch] ?? nodeArch;
}

/** [major, minor] of a kernel release string such as `6.1.0-18-amd64`; [0, 0] when it has none. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const OPS: Readonly<Record<string, string>> = {
  NE: 'SCMP_CMP_NE',
  LT: 'SCMP_CMP_LT',
  LE: 'SCMP_CMP_LE',
  EQ: 'SCMP_CMP_EQ',
  GE: 'SCMP_CMP_GE',
  GT: 'SCMP_CMP_GT',
  MASKED_EQ: 'SCMP_CMP_MASKED_EQ',
};

/** The default profile (Docker's) as a profile with conditions, from its data. */
export function defaultSeccompProfile(data: DefaultSeccompData = DEFAULT_SECCOMP): SeccompProfile {
  const archMap = Object.values(data.architectures).map((arches) => ({
    architecture: arches[0]!,
    subArchitectures: arches.slice(1),
  }));
  const rules: SeccompRule[] = [{ names: data.allowed, action: 'SCMP_ACT_ALLOW' }];
  for (const entry of data.conditional) {
    const includes: { caps?: string[]; arches?: string[]; minKernel?: string } = {};
    const excludes: { caps?: string[]; arches?: string[] } = {};
    if (entry.withCap) includes.caps = [entry.withCap];
    if (entry.arches) includes.arches = [...entry.arches];
    if (entry.minKernel) includes.minKernel = entry.minKernel;
    if (entry.withoutCap) excludes.caps = [entry.withoutCap];
    if (entry.notArches) excludes.arches = [...entry.notArches];
    rules.push({
      names: entry.syscalls,
      ...(entry.errno === undefined
        ? { action: 'SCMP_ACT_ALLOW' }
        : { action: 'SCMP_ACT_ERRNO', errnoRet: entry.errno }),
      ...(entry.args
        ? { args: entry.args.map(([index, op, value]) => ({ index, value, op: OPS[op]! })) }
        : {}),
      ...(Object.keys(includes).length ? { includes } : {}),
      ...(Object.keys(excludes).length ? { excludes } : {}),
    });
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: data.refusedErrno, archMap, syscalls: rules };
}

function atLeast(kernel: readonly [number, number], version: string): boolean {
  const [major, minor] = kernelVersion(version);
  return kernel[0] > major || (kernel[0] === major && kernel[1] >= minor);
}

function included(c: SeccompCondition, target: SeccompTarget): boolean {
  if (c.arches?.length && !c.arches.includes(target.arch)) return false;
  if (c.caps?.length && !c.caps.every((cap) => target.capabilities.includes(cap))) return false;
  if (c.minKernel && !atLeast(target.kernel, c.minKernel)) return false;
  return true;
}

function excluded(c: SeccompCondition, target: SeccompTarget): boolean {
  if (c.arches?.some((a) => a === target.arch)) return true;
  if (c.caps?.some((cap) => target.capabilities.includes(cap))) return true;
  if (c.minKernel && atLeast(target.kernel, c.minKernel)) return true;
  return false;
}

/** The OCI `linux.seccomp` of a profile for one container on this host. */
export function resolveSeccompProfile(profile: SeccompProfile, target: SeccompTarget): OciSeccomp {
  let architectures = [...(profile.architectures ?? [])];
  const native = GO_TO_SCMP_ARCH[target.arch];
  const mapped = profile.archMap?.find((a) => a.architecture === native);
  if (mapped) architectures = [mapped.architecture, ...mapped.subArchitectures];
  const out: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls: [] };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) out.flags = [...profile.flags];
  for (const rule of profile.syscalls) {
    if (rule.excludes && excluded(rule.excludes, target)) continue;
    if (rule.includes && !included(rule.includes, target)) continue;
    out.syscalls.push({
      names: [...rule.names],
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args.map((a) => ({ ...a })) } : {}),
    });
  }
  return out;
}

// ---- a user's profile file ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUint(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function stringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');
}

function parseCondition(v: unknown, where: (s: string) => CspecError, what: string): SeccompCondition {
  if (!isObject(v)) throw where(`${what} must be an object`);
  const out: { caps?: string[]; arches?: string[]; minKernel?: string } = {};
  if (v.caps !== undefined && v.caps !== null) {
    if (!stringList(v.caps)) throw where(`${what}.caps must be a list of capability names`);
    out.caps = v.caps;
  }
  if (v.arches !== undefined && v.arches !== null) {
    if (!stringList(v.arches)) throw where(`${what}.arches must be a list of architecture names`);
    out.arches = v.arches;
  }
  if (v.minKernel !== undefined && v.minKernel !== null && v.minKernel !== '') {
    if (typeof v.minKernel !== 'string' || !/^\d+\.\d+$/.test(v.minKernel) || /^0+\.0+$/.test(v.minKernel)) {
      throw where(`${what}.minKernel must be "<major>.<minor>", e.g. "4.8"`);
    }
    out.minKernel = v.minKernel;
  }
  return out;
}

function parseArg(v: unknown, where: (s: string) => CspecError, what: string): SeccompArg {
  if (!isObject(v)) throw where(`${what} must be an object { index, value, op }`);
  if (!isUint(v.index, 5)) throw where(`${what}.index must be 0 to 5 (a syscall has at most 6 arguments)`);
  if (!isUint(v.value)) throw where(`${what}.value must be a whole number >= 0`);
  if (v.valueTwo !== undefined && !isUint(v.valueTwo))
    throw where(`${what}.valueTwo must be a whole number >= 0`);
  if (typeof v.op !== 'string' || !OPERATORS.has(v.op)) {
    throw where(`${what}.op ${JSON.stringify(v.op)} is not one of ${[...OPERATORS].join(', ')}`);
  }
  return {
    index: v.index,
    value: v.value,
    ...(v.valueTwo !== undefined ? { valueTwo: v.valueTwo } : {}),
    op: v.op,
  };
}

function checkAction(v: unknown, where: (s: string) => CspecError, what: string): string {
  if (v === 'SCMP_ACT_NOTIFY') {
    throw where(
      `${what} SCMP_ACT_NOTIFY needs a seccomp agent, which cspec does not run — use another action`,
    );
  }
  if (typeof v !== 'string' || !ACTIONS.has(v)) {
    throw where(`${what} ${JSON.stringify(v)} is not one of ${[...ACTIONS].join(', ')}`);
  }
  return v;
}

/**
 * Parses the text of a profile file in Docker's or OCI's format. Throws
 * CSPEC_INVALID_SPEC naming `securityOpt`, the file and the field.
 */
export function parseSeccompProfile(text: string, file: string): SeccompProfile {
  const where = (problem: string) =>
    new CspecError(
      'CSPEC_INVALID_SPEC',
      `securityOpt seccomp=${file}: ${problem} — give a seccomp profile in Docker's format (like its default.json) or the OCI format (linux.seccomp), or seccomp=unconfined`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `securityOpt seccomp=${file}: the file is not valid JSON (${(error as Error).message}) — fix the file or point seccomp= at another one`,
      { cause: error },
    );
  }
  if (!isObject(json)) throw where('the file must hold a JSON object');
  const defaultAction = checkAction(json.defaultAction, where, 'defaultAction');
  const profile: {
    -readonly [K in keyof SeccompProfile]: SeccompProfile[K];
  } = { defaultAction, syscalls: [] };
  if (json.defaultErrnoRet !== undefined) {
    if (!isUint(json.defaultErrnoRet, 4095))
      throw where('defaultErrnoRet must be an errno number (1 to 4095)');
    profile.defaultErrnoRet = json.defaultErrnoRet;
  }
  const hasArchitectures = Array.isArray(json.architectures) && json.architectures.length > 0;
  const hasArchMap = Array.isArray(json.archMap) && json.archMap.length > 0;
  if (hasArchitectures && hasArchMap) throw where('give either architectures or archMap, not both');
  if (json.architectures !== undefined && json.architectures !== null) {
    if (!stringList(json.architectures) || !json.architectures.every((a) => ARCH.test(a))) {
      throw where('architectures must be a list of SCMP_ARCH_* names');
    }
    profile.architectures = json.architectures;
  }
  if (json.archMap !== undefined && json.archMap !== null) {
    if (!Array.isArray(json.archMap)) throw where('archMap must be a list');
    profile.archMap = json.archMap.map((entry, i) => {
      const sub = isObject(entry) ? (entry.subArchitectures ?? []) : undefined;
      if (
        !isObject(entry) ||
        typeof entry.architecture !== 'string' ||
        !ARCH.test(entry.architecture) ||
        !stringList(sub) ||
        !sub.every((a) => ARCH.test(a))
      ) {
        throw where(`archMap[${i}] must be { architecture: "SCMP_ARCH_…", subArchitectures: [...] }`);
      }
      return { architecture: entry.architecture, subArchitectures: sub };
    });
  }
  if (json.flags !== undefined && json.flags !== null) {
    if (!stringList(json.flags) || !json.flags.every((f) => FLAGS.has(f))) {
      throw where(`flags must be a list of ${[...FLAGS].join(', ')}`);
    }
    profile.flags = json.flags;
  }
  if (json.listenerPath !== undefined && json.listenerPath !== '') {
    throw where('listenerPath needs a seccomp agent, which cspec does not run — remove it');
  }
  if (json.syscalls !== undefined && json.syscalls !== null && !Array.isArray(json.syscalls)) {
    throw where('syscalls must be a list of rules');
  }
  profile.syscalls = ((json.syscalls as unknown[] | undefined) ?? []).map((rule, i): SeccompRule => {
    const what = `syscalls[${i}]`;
    if (!isObject(rule)) throw where(`${what} must be an object`);
    if (rule.name !== undefined && rule.names !== undefined)
      throw where(`${what}: give either name or names`);
    const names = rule.name !== undefined ? [rule.name] : rule.names;
    if (!stringList(names) || names.length === 0)
      throw where(`${what}.names must be a non-empty list of syscall names`);
    const action = checkAction(rule.action, where, `${what}.action`);
    if (rule.errnoRet !== undefined && !isUint(rule.errnoRet, 4095)) {
      throw where(`${what}.errnoRet must be an errno number (1 to 4095)`);
    }
    if (rule.args !== undefined && rule.args !== null && !Array.isArray(rule.args)) {
      throw where(`${what}.args must be a list`);
    }
    const args = ((rule.args as unknown[] | null | undefined) ?? []).map((a, j) =>
      parseArg(a, where, `${what}.args[${j}]`),
    );
    return {
      names,
      action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet as number } : {}),
      ...(args.length ? { args } : {}),
      ...(rule.includes != null
        ? { includes: parseCondition(rule.includes, where, `${what}.includes`) }
        : {}),
      ...(rule.excludes != null
        ? { excludes: parseCondition(rule.excludes, where, `${what}.excludes`) }
        : {}),
    };
  });
  return profile;
}
