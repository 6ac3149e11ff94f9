/**
 * `cspec doctor` decisions: host facts in, checks out (each failure with the
 * exact command that fixes it). Pure; gathering the facts is in commands/doctor.ts.
 */

import { check } from './check.js';
import {
  type CgroupMode,
  cgroupControllers,
  cgroupModeFromMounts,
  chooseRuntime,
  hasFilesystem,
  mountAt,
  parseKernelVersion,
  parseMountInfo,
} from './probes.js';
import { type RootlessFacts, rootlessChecks } from './rootless-checks.js';

export interface HostFacts {
  readonly uid: number;
  /** `uname -r`. */
  readonly kernelRelease: string;
  /** Text of /proc/filesystems. */
  readonly filesystems: string;
  /** Text of /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** /sys/fs/cgroup/cgroup.controllers (v2 only). */
  readonly v2Controllers: string | undefined;
  /** /proc/sys/user/max_user_namespaces. */
  readonly maxUserNamespaces: string | undefined;
  /** Absolute paths of the tools found, by name (`runc`, `crun`, `debootstrap`, `ip`). */
  readonly executables: Readonly<Record<string, string | undefined>>;
  /** First line of `<runtime> --version`, or the error running it. */
  readonly runtimeVersion: string | undefined;
  /** `CSPEC_OCI_RUNTIME`, if set. */
  readonly configuredRuntime: string | undefined;
  /** /proc/sys/net/bridge/bridge-nf-call-iptables: "1" when br_netfilter filters bridged traffic. */
  readonly bridgeNfCallIptables?: string | undefined;
  /** Whether /dev/shm accepts a new file. */
  readonly shmWritable: boolean;
  /** Undefined when the runtime package could not be loaded (see `runtimeLoadError`). */
  readonly dataDir: { readonly path: string; readonly writable: boolean } | undefined;
  readonly runDir: { readonly path: string; readonly writable: boolean } | undefined;
  /** Why `@cspec/runtime` failed to load, if it did. */
  readonly runtimeLoadError?: string;
  /**
   * Set when cspec runs rootless here (any user but root, or root with
   * CSPEC_ROOTLESS=1): the facts of the rootless section.
   */
  readonly rootless?: RootlessFacts;
}

export interface DoctorCheck {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** A failed required check makes `cspec doctor` exit 1. */
  readonly required: boolean;
  readonly detail: string;
  /** The command that fixes a failure (may span lines). */
  readonly fix?: string;
  /** `rootless` for the checks of the rootless section. @default the host section */
  readonly section?: 'rootless';
}

export interface DoctorReport {
  readonly ok: boolean;
  /** How cspec runs containers here: as root, or in a user namespace. */
  readonly mode: 'root' | 'rootless';
  readonly cgroupMode: CgroupMode;
  readonly checks: readonly DoctorCheck[];
}

function tool(facts: HostFacts, name: string, pkg: string, why: string, sudo = ''): DoctorCheck {
  const path = facts.executables[name];
  return check(
    pkg,
    `${pkg} (${why})`,
    path !== undefined,
    path ? `${name} at ${path}` : `${name} not found`,
    `${sudo}apt-get install -y ${pkg}`,
  );
}

export function runChecks(facts: HostFacts): DoctorReport {
  const mounts = parseMountInfo(facts.mountinfo);
  const checks: DoctorCheck[] = [];

  const rootless = facts.rootless;
  checks.push(
    rootless
      ? check(
          'mode',
          'host mode',
          true,
          `rootless: containers run in a user namespace, as uid ${facts.uid} (${rootless.user}) outside`,
        )
      : facts.uid === 0
        ? check('mode', 'host mode', true, 'root')
        : check(
            'mode',
            'host mode',
            false,
            `uid ${facts.uid}, but the rootless checks did not run`,
            'npx cspec doctor   (with @cspec/runtime built: npm install && npx tsc -b)',
          ),
  );

  const kernel = parseKernelVersion(facts.kernelRelease);
  checks.push(
    check(
      'kernel',
      'kernel 5.0 or newer',
      kernel !== undefined && kernel.major >= 5,
      `kernel ${facts.kernelRelease.trim()}`,
      'upgrade the kernel to 5.x or newer (e.g. apt-get install -y linux-image-amd64) and reboot',
    ),
  );

  const overlay = hasFilesystem(facts.filesystems, 'overlay');
  checks.push(
    check(
      'overlay',
      'overlayfs',
      overlay,
      overlay ? 'overlay is in /proc/filesystems' : 'overlay is not in /proc/filesystems',
      'modprobe overlay && echo overlay >> /etc/modules',
    ),
  );

  const mode = cgroupModeFromMounts(mounts);
  const controllers = cgroupControllers(mode, mounts, facts.v2Controllers);
  const missing = ['memory', 'pids', 'cpu'].filter((c) => !controllers.includes(c));
  const modeText = {
    v1: 'cgroup v1',
    hybrid: 'hybrid (v1 controllers, empty v2 tree at /sys/fs/cgroup/unified)',
    v2: 'cgroup v2 (unified)',
    none: 'no cgroup file system mounted',
  }[mode];
  checks.push(
    check(
      'cgroups',
      'cgroups (memory, pids, cpu controllers)',
      mode !== 'none' && missing.length === 0,
      missing.length ? `${modeText}; missing controllers: ${missing.join(', ')}` : modeText,
      mode === 'none'
        ? 'mount -t cgroup2 none /sys/fs/cgroup'
        : mode === 'v2'
          ? `echo "+${missing.join(' +')}" > /sys/fs/cgroup/cgroup.subtree_control`
          : `add cgroup_enable=${missing.join(',')} to the kernel command line and reboot`,
    ),
  );

  const runtime = chooseRuntime(
    mode,
    { runc: facts.executables.runc, crun: facts.executables.crun },
    facts.configuredRuntime,
  );
  const runs = runtime.ok && facts.runtimeVersion !== undefined && !facts.runtimeVersion.startsWith('error');
  checks.push(
    check(
      'oci-runtime',
      'OCI runtime for this cgroup mode',
      runs,
      runtime.ok ? `${runtime.detail}: ${facts.runtimeVersion ?? 'did not run'}` : runtime.detail,
      runtime.fix ?? `apt-get install --reinstall -y ${runtime.runtime ?? 'runc'}`,
    ),
  );

  checks.push(
    rootless
      ? tool(facts, 'mmdebstrap', 'mmdebstrap', 'builds the Debian base images without root', 'sudo ')
      : tool(facts, 'debootstrap', 'debootstrap', 'builds the Debian base images'),
  );
  checks.push(tool(facts, 'ip', 'iproute2', 'network namespaces and veth pairs'));

  // br_netfilter (loaded by Docker) sends bridged frames through iptables, whose FORWARD policy
  // Docker sets to DROP; cspec then needs iptables to let members of its networks talk.
  const filtered = facts.bridgeNfCallIptables?.trim() === '1';
  const iptables = facts.executables.iptables;
  checks.push(
    check(
      'bridge-filter',
      'traffic between containers on a network is allowed',
      !filtered || iptables !== undefined,
      !filtered
        ? 'bridged traffic is not filtered (br_netfilter off)'
        : iptables
          ? `bridged traffic goes through iptables; cspec adds an ACCEPT rule per network with ${iptables}`
          : 'bridged traffic goes through iptables (br_netfilter is loaded) and iptables is not installed, so containers on one network may not reach each other',
      'apt-get install -y iptables',
      false,
    ),
  );

  const shm = mountAt(mounts, '/dev/shm');
  const shmOk = shm?.fsType === 'tmpfs' && facts.shmWritable;
  checks.push(
    check(
      'shm',
      '/dev/shm is a writable tmpfs (writable layers live there)',
      shmOk,
      shm ? `${shm.fsType}, ${facts.shmWritable ? 'writable' : 'not writable'}` : '/dev/shm is not mounted',
      'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm',
    ),
  );

  if (facts.runtimeLoadError !== undefined) {
    checks.push(
      check(
        'runtime-package',
        '@cspec/runtime loads',
        false,
        facts.runtimeLoadError,
        'npm install && npx tsc -b   (reinstall or rebuild cspec)',
      ),
    );
  }
  for (const [id, dir] of [
    ['data-dir', facts.dataDir],
    ['run-dir', facts.runDir],
  ] as const) {
    if (!dir) continue;
    checks.push(
      check(
        id,
        `${id === 'data-dir' ? 'data' : 'run'} dir writable`,
        dir.writable,
        dir.path,
        `mkdir -p ${dir.path} && chown $(id -u) ${dir.path}`,
      ),
    );
  }

  if (rootless) checks.push(...rootlessChecks(facts, rootless));

  return {
    ok: checks.every((c) => c.ok || !c.required),
    mode: rootless ? 'rootless' : 'root',
    cgroupMode: mode,
    checks,
  };
}

/** Plain-text lines for the terminal: `ok`/`FAIL`, the detail, and the fix. */
export function formatReport(report: DoctorReport): string[] {
  const lines: string[] = [];
  let section: string | undefined;
  for (const c of report.checks) {
    if (c.section !== section) {
      section = c.section;
      if (section === 'rootless') lines.push('', 'rootless (containers in a user namespace, as you):');
    }
    lines.push(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'}  ${c.title}: ${c.detail}`);
    if (!c.ok && c.fix) {
      const [first, ...rest] = c.fix.split('\n');
      lines.push(`      fix: ${first}`, ...rest.map((l) => `           ${l}`));
    }
  }
  const failed = report.checks.filter((c) => !c.ok && c.required).length;
  const warned = report.checks.filter((c) => !c.ok && !c.required).length;
  lines.push(
    '',
    failed
      ? `${failed} required check(s) failed`
      : `everything cspec needs is here${warned ? ` (${warned} warning(s) above)` : ''}`,
  );
  return lines;
}
