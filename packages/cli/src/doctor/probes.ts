/**
 * Pure parsers for `cspec doctor`: they read text the host gives
 * (`/proc/filesystems`, `/proc/self/mountinfo`, `uname -r`) and decide.
 */

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
}

/** `6.1.0-18-amd64` -> { major: 6, minor: 1 }. */
export function parseKernelVersion(release: string): KernelVersion | undefined {
  const match = /^(\d+)\.(\d+)/.exec(release.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/** True when `/proc/filesystems` lists the file system (`overlay`, `tmpfs`). */
export function hasFilesystem(procFilesystems: string, name: string): boolean {
  return procFilesystems.split('\n').some((line) => line.trim().split(/\s+/).at(-1) === name);
}

export interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  /** Per-mount and per-superblock options together. */
  readonly options: readonly string[];
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parses `/proc/self/mountinfo` (see proc(5)). */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const before = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    const mountPoint = before[4];
    const fsType = after[0];
    if (mountPoint === undefined || fsType === undefined) continue;
    entries.push({
      mountPoint: unescapeMountPath(mountPoint),
      fsType,
      options: [...(before[5] ?? '').split(','), ...(after[2] ?? '').split(',')].filter(Boolean),
    });
  }
  return entries;
}

/** The last mount on a path is the visible one. */
export function mountAt(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  return mounts.findLast((m) => m.mountPoint === path);
}

export type CgroupMode = 'v1' | 'hybrid' | 'v2' | 'none';

/**
 * v2: cgroup2 at /sys/fs/cgroup. hybrid: v1 controllers plus cgroup2 at
 * /sys/fs/cgroup/unified. v1: v1 controllers only.
 */
export function cgroupModeFromMounts(mounts: readonly MountEntry[]): CgroupMode {
  const root = mountAt(mounts, '/sys/fs/cgroup');
  if (root?.fsType === 'cgroup2') return 'v2';
  const v1 = mounts.some((m) => m.fsType === 'cgroup' && m.mountPoint.startsWith('/sys/fs/cgroup/'));
  if (!v1) return 'none';
  return mountAt(mounts, '/sys/fs/cgroup/unified')?.fsType === 'cgroup2' ? 'hybrid' : 'v1';
}

/** Controllers usable for limits: v1 from mount options, v2 from `cgroup.controllers` text. */
export function cgroupControllers(
  mode: CgroupMode,
  mounts: readonly MountEntry[],
  v2Controllers: string | undefined,
): string[] {
  if (mode === 'v2') return (v2Controllers ?? '').trim().split(/\s+/).filter(Boolean);
  const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'devices', 'freezer'];
  const found = new Set<string>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const option of m.options) if (known.includes(option)) found.add(option);
  }
  return [...found].sort();
}

export interface RuntimeChoice {
  readonly ok: boolean;
  /** The runtime cspec would use. */
  readonly runtime: 'runc' | 'crun' | undefined;
  readonly detail: string;
  readonly fix?: string;
}

/** Which OCI runtime works on this cgroup mode, given which are installed. */
export function chooseRuntime(
  mode: CgroupMode,
  installed: { readonly runc?: string | undefined; readonly crun?: string | undefined },
  configured?: string,
): RuntimeChoice {
  const install = 'apt-get install -y runc';
  if (configured) {
    const name = configured.split('/').at(-1);
    if (name === 'crun' && mode === 'hybrid') {
      return {
        ok: false,
        runtime: undefined,
        detail: `CSPEC_OCI_RUNTIME=${configured}, but crun refuses hybrid cgroup hosts`,
        fix: `unset CSPEC_OCI_RUNTIME && ${install}`,
      };
    }
  }
  if (mode === 'hybrid' || mode === 'v1') {
    if (installed.runc)
      return { ok: true, runtime: 'runc', detail: `runc at ${installed.runc} (${mode} cgroups)` };
    return {
      ok: false,
      runtime: undefined,
      detail: installed.crun
        ? `only crun is installed; on ${mode} cgroup hosts cspec needs runc (crun refuses hybrid hosts: "cgroups in hybrid mode not supported")`
        : 'no OCI runtime found: cspec needs runc on this host',
      fix: install,
    };
  }
  if (installed.crun)
    return { ok: true, runtime: 'crun', detail: `crun at ${installed.crun} (cgroup v2, fastest)` };
  if (installed.runc) return { ok: true, runtime: 'runc', detail: `runc at ${installed.runc} (cgroup v2)` };
  return {
    ok: false,
    runtime: undefined,
    detail: 'no OCI runtime (runc or crun) found',
    fix: 'apt-get install -y crun',
  };
}

/** First directory of `dirs` holding `name`, using `isExecutable` to test a path. */
export function findExecutable(
  name: string,
  dirs: readonly string[],
  isExecutable: (path: string) => boolean,
): string | undefined {
  for (const dir of dirs) {
    if (!dir) continue;
    const path = `${dir.replace(/\/+$/, '')}/${name}`;
    if (isExecutable(path)) return path;
  }
  return undefined;
}

/** Where the engine looks for runc/crun (not `$PATH`: a root process may not have sbin in it). */
export const SYSTEM_DIRS: readonly string[] = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

/** `$PATH` plus the system directories root's tools live in. */
export function searchPath(pathEnv: string | undefined): string[] {
  const dirs = (pathEnv ?? '').split(':').filter(Boolean);
  for (const extra of SYSTEM_DIRS) if (!dirs.includes(extra)) dirs.push(extra);
  return dirs;
}

/** One line of /etc/subuid or /etc/subgid: `owner:start:count` (owner a name or a uid). */
export interface SubordinateRange {
  readonly owner: string;
  readonly start: number;
  readonly count: number;
}

/** The ranges of a subuid/subgid file (blank, comment and malformed lines skipped). */
export function parseSubordinateFile(text: string): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    const range = { owner: owner ?? '', start: Number(start), count: Number(count) };
    if (!range.owner || !Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.count)) continue;
    if (range.start < 0 || range.count <= 0) continue;
    ranges.push(range);
  }
  return ranges;
}

/** The user's largest range (by name or uid), as newuidmap would accept it. */
export function subordinateRangeOf(
  ranges: readonly SubordinateRange[],
  user: { readonly name: string; readonly uid: number },
): SubordinateRange | undefined {
  let best: SubordinateRange | undefined;
  for (const r of ranges) {
    if (r.owner !== user.name && r.owner !== String(user.uid)) continue;
    if (!best || r.count > best.count) best = r;
  }
  return best;
}

/**
 * The lowest block of `count` ids from `min` that no range in use overlaps
 * (pass the ranges of both files: one block then fits both).
 */
export function freeSubordinateStart(used: readonly SubordinateRange[], count = 65536, min = 100000): number {
  const sorted = [...used].sort((a, b) => a.start - b.start);
  let start = min;
  for (const r of sorted) {
    if (r.start + r.count <= start) continue;
    if (r.start >= start + count) break;
    start = r.start + r.count;
  }
  return start;
}
