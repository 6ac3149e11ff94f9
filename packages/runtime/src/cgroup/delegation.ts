/**
 * Where an ordinary user may make cgroups: the subtree the system delegated
 * to it (docs/rootless.md). Without one a rootless container runs without
 * limits, and the OCI runtime must get no `cgroupsPath` at all (it fails even
 * to create one it may not write).
 *
 * - cgroup v2: the parent of the process's own cgroup (under systemd,
 *   `user@UID.service` with `Delegate=` gives the user that subtree), writable
 *   by the user, with the limit controllers enabled for its children.
 * - cgroup v1 and hybrid hosts: one directory writable by the user at the same
 *   path in every mounted v1 hierarchy, cpuset's with cpus and mems filled.
 *   runc creates a container's cgroup in all of them or fails: delegating only
 *   memory, pids and cpu is not enough.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { parseCgroupMounts } from './detect.js';

/** What the lookup reads of the host; a fake in tests. */
export interface CgroupFsView {
  /** A file's text, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  /** Whether the user may create entries in (or write) `path`; false when it does not exist. */
  writable(path: string): boolean;
  /** Whether a directory exists. */
  isDir(path: string): boolean;
  /** Names of the subdirectories of `path` ([] when it cannot be read). */
  subdirs(path: string): string[];
}

export interface FindDelegatedCgroupOptions {
  /**
   * The delegated directory, relative to the cgroup mounts (`/alice`): only
   * this one is checked. @default found by looking
   */
  readonly path?: string;
  /** Controllers a v2 subtree must offer its children. @default ['cpu', 'memory', 'pids'] */
  readonly controllers?: readonly string[];
  /** Account named in the recipe. @default the uid */
  readonly user?: string;
  /** @default process.getuid() */
  readonly uid?: number;
  /** Text of /proc/self/mountinfo. @default read from /proc */
  readonly mountinfo?: string;
  /** Text of /proc/self/cgroup. @default read from /proc */
  readonly procCgroup?: string;
  /** @default the real file system, with access(2) as the calling user */
  readonly fs?: CgroupFsView;
}

export interface DelegatedCgroup {
  /** 1 on v1 and hybrid hosts (runc's v1 manager), 2 on unified ones. */
  readonly version: 1 | 2;
  /**
   * The directory relative to the cgroup mounts, starting with `/`: a
   * container's `cgroupsPath` is `<path>/<name>`. `/` for root (which may
   * write the whole tree, e.g. with CSPEC_ROOTLESS=1).
   */
  readonly path: string;
  /** The directory in each hierarchy (v1), or the one directory (v2). */
  readonly dirs: readonly string[];
  /**
   * v2: controllers the children may use that `cgroup.subtree_control` does
   * not enable yet (the directory's owner may write them there). v1: [].
   */
  readonly enable: readonly string[];
}

export type Delegation =
  | { readonly delegated: DelegatedCgroup }
  | {
      readonly delegated: undefined;
      /** What is missing, e.g. which hierarchies lack the directory. */
      readonly reason: string;
      /** Commands (as root) that delegate a subtree to the user. */
      readonly recipe: string;
    };

interface Mount {
  readonly mountPoint: string;
  /** The directory of the hierarchy this mount shows (field 4 of mountinfo). */
  readonly root: string;
  readonly fsType: 'cgroup' | 'cgroup2';
  readonly options: readonly string[];
}

/** The v1 controllers runc's v1 manager creates a cgroup in, when mounted. */
const V1_SUBSYSTEMS = new Set([
  'cpuset',
  'devices',
  'memory',
  'cpu',
  'cpuacct',
  'pids',
  'blkio',
  'hugetlb',
  'net_cls',
  'net_prio',
  'perf_event',
  'freezer',
  'rdma',
  'name=systemd',
]);

const DEFAULT_CONTROLLERS = ['cpu', 'memory', 'pids'];
const SCAN_DEPTH = 2;

/** cgroup and cgroup2 mounts in /proc/self/mountinfo text. */
export function parseCgroupMountinfo(text: string): Mount[] {
  return parseCgroupMounts(text).map((m) => ({
    mountPoint: m.mountPoint,
    root: m.root,
    fsType: m.fsType as Mount['fsType'],
    options: m.superOptions.split(','),
  }));
}

/** /proc/self/cgroup: hierarchy controllers (`memory`, `name=systemd`, `` for v2) -> path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') paths.set('', path);
    else for (const c of controllers.split(',')) paths.set(c, path);
  }
  return paths;
}

function join(dir: string, rel: string): string {
  return rel === '/' ? dir : `${dir}${rel}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** `path` (a cgroup path from /proc/self/cgroup) seen under a mount showing `root`; undefined if outside it. */
function underMount(mount: Mount, path: string): string | undefined {
  if (mount.root === '/') return path;
  if (path === mount.root) return '/';
  return path.startsWith(`${mount.root}/`) ? path.slice(mount.root.length) : undefined;
}

function normalise(path: string): string {
  return `/${path.split('/').filter(Boolean).join('/')}`;
}

function words(text: string | undefined): string[] {
  return (text ?? '').trim().split(/\s+/).filter(Boolean);
}

function hierarchyControllers(mount: Mount): string[] {
  return mount.options.filter((o) => V1_SUBSYSTEMS.has(o));
}

/** Commands (as root) that give `user` the directory `/<user>` in every v1 hierarchy. */
export function v1Recipe(
  hierarchies: readonly { mountPoint: string; cpuset: boolean }[],
  user: string,
): string {
  const dir = `/${user}`;
  const cpuset = hierarchies.find((h) => h.cpuset)?.mountPoint;
  const lines = [
    `for h in ${hierarchies.map((h) => h.mountPoint).join(' ')}; do mkdir -p "$h${dir}" && chown -R ${user}: "$h${dir}"; done`,
  ];
  if (cpuset) {
    lines.push(
      `cat ${cpuset}/cpuset.cpus > ${cpuset}${dir}/cpuset.cpus; cat ${cpuset}/cpuset.mems > ${cpuset}${dir}/cpuset.mems`,
    );
  }
  return `as root (again after each boot: cgroup directories do not persist):\n${lines.join('\n')}`;
}

/** Commands (as root) that make systemd delegate the limit controllers to every user. */
export function v2Recipe(): string {
  return [
    'as root, delegate the controllers to every user systemd manager, then log in again:',
    'mkdir -p /etc/systemd/system/user@.service.d',
    "printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' > /etc/systemd/system/user@.service.d/delegate.conf",
    'systemctl daemon-reload',
    'and run cspec from inside your user manager (a desktop session does; over ssh: systemd-run --user --scope -p Delegate=yes npm test)',
  ].join('\n');
}

function findV1(
  mounts: readonly Mount[],
  own: Map<string, string>,
  options: FindDelegatedCgroupOptions,
  fs: CgroupFsView,
  user: string,
): Delegation {
  // One entry per hierarchy runc uses (a hierarchy mounted twice counts once).
  const seen = new Set<string>();
  const hierarchies: Mount[] = [];
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    const controllers = hierarchyControllers(m);
    if (controllers.length === 0) continue;
    const key = controllers.sort().join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    hierarchies.push(m);
  }
  const recipe = v1Recipe(
    hierarchies.map((h) => ({
      mountPoint: h.mountPoint,
      cpuset: hierarchyControllers(h).includes('cpuset'),
    })),
    user,
  );
  if (hierarchies.length === 0) {
    return { delegated: undefined, reason: 'no cgroup v1 controller hierarchy is mounted', recipe };
  }

  const problems = (path: string): string[] => {
    const found: string[] = [];
    for (const h of hierarchies) {
      const dir = join(h.mountPoint, path);
      const name = h.mountPoint.split('/').at(-1);
      if (!fs.isDir(dir)) found.push(`${name}: no ${path}`);
      else if (!fs.writable(dir)) found.push(`${name}: ${path} is not writable`);
      else if (hierarchyControllers(h).includes('cpuset')) {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          if (words(fs.read(`${dir}/${file}`)).length === 0 && !fs.writable(`${dir}/${file}`))
            found.push(`${name}: ${path}/${file} is empty`);
        }
      }
    }
    return found;
  };
  const delegated = (path: string): Delegation => ({
    delegated: {
      version: 1,
      path,
      dirs: hierarchies.map((h) => join(h.mountPoint, path)),
      enable: [],
    },
  });

  if (options.path !== undefined) {
    const path = normalise(options.path);
    const missing = problems(path);
    if (missing.length === 0) return delegated(path);
    return {
      delegated: undefined,
      reason: `${path} is not delegated in every cgroup hierarchy (runc needs all of them): ${missing.join('; ')}`,
      recipe,
    };
  }

  // Candidates: the process's own cgroup and its parents where every hierarchy agrees, then
  // directories the user may write near the top of one hierarchy, shallowest first.
  const candidates: string[] = [];
  const ownPaths = hierarchies.map((h) => {
    const controllers = hierarchyControllers(h);
    const path = controllers.map((c) => own.get(c)).find((p) => p !== undefined);
    return path === undefined ? undefined : underMount(h, path);
  });
  const first = ownPaths[0];
  if (first !== undefined && ownPaths.every((p) => p === first)) {
    for (let p = first; p !== '/'; p = parentOf(p)) candidates.push(p);
  }
  const reference = hierarchies.find((h) => hierarchyControllers(h).includes('pids')) ?? hierarchies[0];
  if (reference) {
    let level = ['/'];
    for (let depth = 0; depth <= SCAN_DEPTH && level.length > 0; depth++) {
      const next: string[] = [];
      for (const path of level) {
        const dir = join(reference.mountPoint, path);
        if (fs.writable(dir)) candidates.push(path);
        if (depth < SCAN_DEPTH)
          for (const name of fs.subdirs(dir).sort()) next.push(path === '/' ? `/${name}` : `${path}/${name}`);
      }
      level = next;
    }
  }

  let best: { path: string; missing: string[] } | undefined;
  for (const path of new Set(candidates)) {
    const missing = problems(path);
    if (missing.length === 0) return delegated(path);
    if (!best || missing.length < best.missing.length) best = { path, missing };
  }
  const names = hierarchies.map((h) => h.mountPoint.split('/').at(-1)).join(', ');
  return {
    delegated: undefined,
    reason: best
      ? `${best.path} is writable in some cgroup hierarchies but not all (runc needs every one: ${names}): ${best.missing.join('; ')}`
      : `no cgroup directory is delegated to ${user}: none is writable by it in the v1 hierarchies (${names})`,
    recipe,
  };
}

function findV2(
  mount: Mount,
  own: Map<string, string>,
  options: FindDelegatedCgroupOptions,
  fs: CgroupFsView,
  uid: number,
): Delegation {
  const recipe = v2Recipe();
  const wanted = options.controllers ?? DEFAULT_CONTROLLERS;
  const ownPath = own.has('') ? underMount(mount, own.get('') as string) : undefined;
  const check = (path: string): { ok: true; enable: string[] } | { ok: false; why: string } => {
    const dir = join(mount.mountPoint, path);
    if (!fs.isDir(dir)) return { ok: false, why: `${dir} does not exist` };
    if (!fs.writable(dir) || !fs.writable(`${dir}/cgroup.procs`))
      return { ok: false, why: `${dir} is not writable by uid ${uid}` };
    // Moving a process between cgroups needs write access to their common ancestor's cgroup.procs.
    if (ownPath !== undefined) {
      let common = path;
      while (common !== '/' && ownPath !== common && !ownPath.startsWith(`${common}/`))
        common = parentOf(common);
      const commonDir = join(mount.mountPoint, common);
      if (!fs.writable(`${commonDir}/cgroup.procs`))
        return {
          ok: false,
          why: `this process (in ${ownPath}) may not move containers into ${path}: ${commonDir}/cgroup.procs is not writable`,
        };
    }
    const available = words(fs.read(`${dir}/cgroup.controllers`));
    const absent = wanted.filter((c) => !available.includes(c));
    if (absent.length > 0)
      return {
        ok: false,
        why: `${dir} offers controllers "${available.join(' ')}", not ${absent.join(', ')}`,
      };
    const enabled = words(fs.read(`${dir}/cgroup.subtree_control`));
    const enable = wanted.filter((c) => !enabled.includes(c));
    if (enable.length > 0 && !fs.writable(`${dir}/cgroup.subtree_control`))
      return { ok: false, why: `${dir} does not enable ${enable.join(', ')} for its children` };
    return { ok: true, enable };
  };

  const candidates: string[] = [];
  if (options.path !== undefined) candidates.push(normalise(options.path));
  else if (ownPath !== undefined && ownPath !== '/') candidates.push(parentOf(ownPath));
  const whys: string[] = [];
  for (const path of candidates) {
    const result = check(path);
    if (result.ok) {
      return {
        delegated: { version: 2, path, dirs: [join(mount.mountPoint, path)], enable: result.enable },
      };
    }
    whys.push(result.why);
  }
  if (candidates.length === 0) whys.push('this process is in the root cgroup');
  return {
    delegated: undefined,
    reason: `no cgroup v2 subtree is delegated to uid ${uid}: ${whys.join('; ')}`,
    recipe,
  };
}

export const hostCgroupFs: CgroupFsView = {
  read(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  writable(path) {
    try {
      accessSync(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  isDir(path) {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  subdirs(path) {
    try {
      return readdirSync(path, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return [];
    }
  },
};

/**
 * The cgroup subtree this user may create cgroups in, or why there is none
 * and the commands (as root) that delegate one.
 */
export function findDelegatedCgroup(options: FindDelegatedCgroupOptions = {}): Delegation {
  const fs = options.fs ?? hostCgroupFs;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const user = options.user ?? String(uid);
  const mounts = parseCgroupMountinfo(options.mountinfo ?? fs.read('/proc/self/mountinfo') ?? '');
  const own = parseProcCgroup(options.procCgroup ?? fs.read('/proc/self/cgroup') ?? '');
  const v1 = mounts.some((m) => m.fsType === 'cgroup' && hierarchyControllers(m).length > 0);
  if (v1) return findV1(mounts, own, options, fs, user);
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2) return findV2(v2, own, options, fs, uid);
  return {
    delegated: undefined,
    reason: 'no cgroup file system is mounted',
    recipe: 'as root: mount -t cgroup2 none /sys/fs/cgroup',
  };
}
