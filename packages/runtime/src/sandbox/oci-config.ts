/**
 * Builds the OCI runtime config (config.json) for a container. Pure: every
 * host fact it needs is passed in, so it is unit-tested without a kernel.
 */
import type { MountSpec, ResourceSpec } from '../container/spec.js';
import { CspecError } from '../errors.js';
import { USER_XATTR } from '../snapshot/overlay-limits.js';
import { resolveSeccompProfile, type SeccompProfile } from './seccomp-profile.js';

export interface OciProcessInput {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  readonly terminal?: boolean;
}

export interface OciConfigInput {
  readonly process: OciProcessInput;
  readonly hostname: string;
  /** An empty directory: the overlay is mounted over it inside the container's mount namespace. */
  readonly rootPath: string;
  /** Read-only layers, lowest first. */
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  readonly mounts: readonly MountSpec[];
  /** Where overlay mounts keep their upper and work directories (see `overlayMountDirs`); needed only for them. */
  readonly mountsDir?: string;
  /** Files bind-mounted over /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  readonly etcFiles: { readonly hosts: string; readonly hostname: string; readonly resolvConf: string };
  /**
   * Path of a network namespace to join; undefined creates a private one
   * (loopback only); null shares the runtime's own (a rootless build step
   * with the host network: the host's namespace cannot be joined by path).
   */
  readonly netnsPath: string | null | undefined;
  /** Undefined: the runtime makes no cgroup (rootless, nothing delegated). */
  readonly cgroupsPath: string | undefined;
  readonly resources: ResourceSpec | undefined;
  /** Whether the host's memory cgroup can limit swap (v1 `memory.memsw.*` or v2 `memory.swap.max`). */
  readonly swapLimitSupported: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** RLIMIT_NOFILE for the container (soft = hard); may not exceed the host's hard limit. */
  readonly openFilesLimit: number;
  /**
   * The seccomp profile and the host it is resolved for (its rules depend on
   * the container's capabilities, the architecture and the kernel); none: unconfined.
   */
  readonly seccomp?: {
    readonly profile: SeccompProfile;
    /** Go's name of the host architecture (`hostSeccompArch`). */
    readonly arch: string;
    readonly kernel: readonly [number, number];
  };
  /** @default false */
  readonly noNewPrivileges?: boolean;
  /**
   * Overlay mounts read whiteouts and opaque markers from `user.overlay.*`
   * (the `userxattr` option): a rootless engine's layers, mounted in its user
   * namespace. Without it, kernel 6.x mounts there too but ignores
   * `user.overlay.opaque`. @default false
   */
  readonly overlayUserXattr?: boolean;
}

/** The capabilities Docker grants by default. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const CPU_PERIOD_US = 100_000;

/** Overlay's lowerdir lists the TOP layer first; `userxattr` for a rootless engine (`overlayUserXattr`). */
export function overlayOptions(
  lowerDirs: readonly string[],
  upperDir: string,
  workDir: string,
  options: { readonly userxattr?: boolean } = {},
): string[] {
  const lower = [...lowerDirs].reverse().join(':');
  return [
    `lowerdir=${lower}`,
    `upperdir=${upperDir}`,
    `workdir=${workDir}`,
    ...(options.userxattr ? [USER_XATTR] : []),
  ];
}

/** The upper and work directories of the `index`-th user mount, when it is an overlay. */
export function overlayMountDirs(mountsDir: string, index: number): { upper: string; work: string } {
  return { upper: `${mountsDir}/${index}/upper`, work: `${mountsDir}/${index}/work` };
}

function userMount(
  mount: MountSpec,
  index: number,
  mountsDir: string | undefined,
  userxattr: boolean,
): Record<string, unknown> {
  if (mount.type === 'overlay') {
    if (mountsDir === undefined) {
      throw new CspecError(
        'CSPEC_INTERNAL',
        'an overlay mount needs mountsDir for its upper and work directories',
      );
    }
    const dirs = overlayMountDirs(mountsDir, index);
    return {
      destination: mount.target,
      type: 'overlay',
      source: 'overlay',
      options: overlayOptions([mount.source], dirs.upper, dirs.work, { userxattr }),
    };
  }
  if (mount.type === 'bind') {
    return {
      destination: mount.target,
      type: 'bind',
      source: mount.source,
      options: ['rbind', 'rprivate', mount.readonly ? 'ro' : 'rw'],
    };
  }
  const options = ['nosuid', 'nodev', `mode=${(mount.mode ?? 0o1777).toString(8)}`];
  if (mount.sizeBytes !== undefined) options.push(`size=${mount.sizeBytes}`);
  return { destination: mount.target, type: 'tmpfs', source: 'tmpfs', options };
}

function ociResources(resources: ResourceSpec | undefined, swapLimitSupported: boolean) {
  const out: Record<string, unknown> = {
    devices: [{ allow: false, access: 'rwm' }],
  };
  if (resources?.memoryBytes !== undefined) {
    out.memory = swapLimitSupported
      ? { limit: resources.memoryBytes, swap: resources.memoryBytes }
      : { limit: resources.memoryBytes };
  }
  if (resources?.cpus !== undefined) {
    out.cpu = { quota: Math.round(resources.cpus * CPU_PERIOD_US), period: CPU_PERIOD_US };
  }
  if (resources?.pids !== undefined) out.pids = { limit: resources.pids };
  return out;
}

export function buildOciConfig(input: OciConfigInput): Record<string, unknown> {
  const caps = [...DEFAULT_CAPABILITIES];
  const namespaces: Record<string, string>[] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    ...(input.netnsPath === null
      ? []
      : [input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' }]),
  ];
  // sysfs may be mounted only by the owner of the network namespace: a shared one gets the host's, bound.
  const sys =
    input.netnsPath === null
      ? {
          destination: '/sys',
          type: 'bind',
          source: '/sys',
          options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
        }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] };
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.process.terminal ?? false,
      user: {
        uid: input.process.uid,
        gid: input.process.gid,
        ...(input.process.additionalGids.length ? { additionalGids: [...input.process.additionalGids] } : {}),
      },
      args: [...input.process.args],
      env: [...input.process.env],
      cwd: input.process.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: input.openFilesLimit, soft: input.openFilesLimit }],
      noNewPrivileges: input.noNewPrivileges ?? false,
    },
    root: { path: input.rootPath, readonly: false },
    hostname: input.hostname,
    mounts: [
      {
        destination: '/',
        type: 'overlay',
        source: 'overlay',
        options: overlayOptions(input.lowerDirs, input.upperDir, input.workDir, {
          userxattr: input.overlayUserXattr ?? false,
        }),
      },
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      sys,
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
      {
        destination: '/etc/hosts',
        type: 'bind',
        source: input.etcFiles.hosts,
        options: ['rbind', 'rprivate', 'rw'],
      },
      {
        destination: '/etc/hostname',
        type: 'bind',
        source: input.etcFiles.hostname,
        options: ['rbind', 'rprivate', 'rw'],
      },
      {
        destination: '/etc/resolv.conf',
        type: 'bind',
        source: input.etcFiles.resolvConf,
        options: ['rbind', 'rprivate', 'rw'],
      },
      ...input.mounts.map((m, i) => userMount(m, i, input.mountsDir, input.overlayUserXattr ?? false)),
    ],
    annotations: { ...input.labels },
    linux: {
      ...(input.cgroupsPath === undefined ? {} : { cgroupsPath: input.cgroupsPath }),
      resources: ociResources(input.resources, input.swapLimitSupported),
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      ...(input.seccomp
        ? {
            seccomp: resolveSeccompProfile(input.seccomp.profile, {
              arch: input.seccomp.arch,
              kernel: input.seccomp.kernel,
              capabilities: caps,
            }),
          }
        : {}),
    },
  };
}
