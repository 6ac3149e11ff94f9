/**
 * `cspec doctor`'s rootless section: what an ordinary user needs for cspec's
 * containers (docs/rootless.md). Pure: facts in, checks out; each missing
 * piece says what is missing, why it matters, and the command that fixes it.
 */
import { check as reportLine } from './check.js';
import type { DoctorCheck } from './checks.js';
import { freeSubordinateStart, parseSubordinateFile, subordinateRangeOf } from './probes.js';

/** The outcome of running a probe command: ok, or its error output. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

export interface IdMapTool {
  readonly path: string;
  /** Owned by root with the setuid bit. */
  readonly setuidRoot: boolean;
  /** `getcap` output where it has file capabilities instead (Fedora). */
  readonly fileCaps?: string | undefined;
}

export interface RootlessFacts {
  /** The user's name (the subordinate files name users by name). */
  readonly user: string;
  /** /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu 23.10+). */
  readonly apparmorRestrictUserns: string | undefined;
  /** /proc/sys/kernel/unprivileged_userns_clone (Debian's kernels before 11). */
  readonly unprivilegedUsernsClone: string | undefined;
  /** Text of /etc/subuid and /etc/subgid ('' when missing). */
  readonly subuid: string;
  readonly subgid: string;
  readonly newuidmap: IdMapTool | undefined;
  readonly newgidmap: IdMapTool | undefined;
  /** `unshare --user --map-root-user true`. */
  readonly usernsProbe: ProbeResult;
  /** An overlay mount with `userxattr` inside `unshare --user --map-root-user --mount`; undefined when not tried. */
  readonly overlayProbe: ProbeResult | undefined;
  /** findDelegatedCgroup's answer; undefined when the runtime package did not load. */
  readonly delegation:
    | { readonly found: true; readonly version: 1 | 2; readonly path: string; readonly dirs: number }
    | { readonly found: false; readonly reason: string; readonly recipe: string }
    | undefined;
  /** $XDG_RUNTIME_DIR, or the /tmp/cspec-UID fallback, that holds cspec's run directory. */
  readonly runBase: {
    readonly path: string;
    /** Whether it comes from XDG_RUNTIME_DIR. */
    readonly fromXdg: boolean;
    /** Undefined when it does not exist. */
    readonly owner: number | undefined;
    readonly mode: number | undefined;
    /** Whether the user could create it (its parent is writable). */
    readonly creatable: boolean;
  };
}

/** A check of the rootless section. */
function check(
  id: string,
  title: string,
  ok: boolean,
  detail: string,
  fix?: string,
  required = true,
): DoctorCheck {
  return reportLine(id, title, ok, detail, fix, required, 'rootless');
}

const PERSIST = '/etc/sysctl.d/60-cspec-userns.conf';

function sysctlFix(key: string, value: string): string {
  return `sudo sysctl -w ${key}=${value} && echo ${key}=${value} | sudo tee ${PERSIST}`;
}

function usernsCheck(uid: number, maxUserNamespaces: string | undefined, r: RootlessFacts): DoctorCheck {
  const title = 'unprivileged user namespaces';
  const why = 'every rootless container runs in a user namespace that maps you as root';
  const max = maxUserNamespaces?.trim();
  if (max !== undefined && Number(max) === 0) {
    return check(
      'userns',
      title,
      false,
      `user.max_user_namespaces is 0: the kernel refuses new user namespaces, and ${why}`,
      sysctlFix('user.max_user_namespaces', '15000'),
    );
  }
  if (r.unprivilegedUsernsClone?.trim() === '0') {
    return check(
      'userns',
      title,
      false,
      `kernel.unprivileged_userns_clone is 0: only root may create user namespaces, and ${why}`,
      sysctlFix('kernel.unprivileged_userns_clone', '1'),
    );
  }
  // Restricted, unless a profile lets `unshare` (what cspec makes namespaces with) mount in one.
  const restricted = r.apparmorRestrictUserns?.trim() === '1' && uid !== 0;
  if (restricted && r.overlayProbe?.ok !== true) {
    return check(
      'userns',
      title,
      false,
      `kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10 and later): AppArmor gives programs without a profile no capabilities in the user namespaces they create, so cspec cannot mount or map ids in them, and ${why}`,
      `${sysctlFix('kernel.apparmor_restrict_unprivileged_userns', '0')}   (or an AppArmor profile that allows userns for /usr/bin/unshare: see docs/rootless.md)`,
    );
  }
  if (!r.usernsProbe.ok) {
    return check(
      'userns',
      title,
      false,
      `\`unshare --user --map-root-user true\` failed: ${r.usernsProbe.error}; ${why}`,
      'allow unprivileged user namespaces (see docs/rootless.md); `unshare` comes with util-linux: sudo apt-get install -y util-linux',
    );
  }
  return check(
    'userns',
    title,
    true,
    `user.max_user_namespaces = ${max ?? '?'}; unshare --user works${restricted ? ' (AppArmor restricts user namespaces, but a profile allows unshare)' : ''}`,
  );
}

function ranges(uid: number, r: RootlessFacts) {
  const uids = parseSubordinateFile(r.subuid);
  const gids = parseSubordinateFile(r.subgid);
  const user = { name: r.user, uid };
  return { uids, gids, mineU: subordinateRangeOf(uids, user), mineG: subordinateRangeOf(gids, user) };
}

function subidsCheck(uid: number, r: RootlessFacts): DoctorCheck {
  const title = 'subordinate ids (/etc/subuid, /etc/subgid)';
  const { uids, gids, mineU, mineG } = ranges(uid, r);
  const text = (x: { start: number; count: number }) => `${x.start}-${x.start + x.count - 1}`;
  if (mineU && mineG) {
    const small = Math.min(mineU.count, mineG.count) < 65536;
    return check(
      'subids',
      title,
      !small,
      `${r.user}: uids ${text(mineU)} (${mineU.count}), gids ${text(mineG)} (${mineG.count})${small ? ': fewer than 65536, so files of ids from there up (nobody is 65534) cannot be unpacked' : ''}`,
      small
        ? `sudo usermod --del-subuids ${text(mineU)} --del-subgids ${text(mineG)} ${r.user}, then add a range of 65536 (see docs/rootless.md)`
        : undefined,
      false,
    );
  }
  const start = freeSubordinateStart([...uids, ...gids]);
  const range = text({ start, count: 65536 });
  const missing = [mineU ? undefined : '/etc/subuid', mineG ? undefined : '/etc/subgid'].filter(Boolean);
  const fix = [
    'sudo usermod',
    ...(mineU ? [] : [`--add-subuids ${range}`]),
    ...(mineG ? [] : [`--add-subgids ${range}`]),
    r.user,
  ].join(' ');
  return check(
    'subids',
    title,
    false,
    `no range for ${r.user} in ${missing.join(' and ')}: containers map only your own id, so images whose files belong to other users (postgres, mysql, apt's _apt) do not work`,
    fix,
    false,
  );
}

function idmapCheck(r: RootlessFacts, needed: boolean): DoctorCheck {
  const title = 'newuidmap and newgidmap (write your subordinate ids into a user namespace)';
  const tools = [r.newuidmap, r.newgidmap];
  const names = ['newuidmap', 'newgidmap'];
  const absent = names.filter((_, i) => tools[i] === undefined);
  if (absent.length > 0) {
    return check(
      'newuidmap',
      title,
      false,
      `${absent.join(' and ')} not found: without them only your own id is mapped`,
      'sudo apt-get install -y uidmap   (Fedora: sudo dnf install -y shadow-utils)',
      needed,
    );
  }
  const weak = tools.filter((t) => t && !t.setuidRoot && !/cap_setuid|cap_setgid/.test(t.fileCaps ?? ''));
  if (weak.length > 0) {
    const paths = weak.map((t) => t?.path).join(' ');
    return check(
      'newuidmap',
      title,
      false,
      `${paths} neither setuid root nor with file capabilities: they cannot map ids for you`,
      `sudo chown root ${paths} && sudo chmod u+s ${paths}   (or reinstall: sudo apt-get install --reinstall -y uidmap)`,
      needed,
    );
  }
  return check(
    'newuidmap',
    title,
    true,
    tools.map((t) => `${t?.path} (${t?.setuidRoot ? 'setuid root' : t?.fileCaps?.trim()})`).join(', '),
  );
}

function overlayCheck(kernelRelease: string, r: RootlessFacts): DoctorCheck {
  const title = 'overlayfs inside a user namespace (userxattr)';
  if (r.overlayProbe === undefined) {
    return check(
      'overlay-userns',
      title,
      false,
      'not tried: user namespaces do not work (see above)',
      'fix user namespaces first',
    );
  }
  if (!r.overlayProbe.ok) {
    return check(
      'overlay-userns',
      title,
      false,
      `mount -t overlay -o userxattr,... in a user namespace failed: ${r.overlayProbe.error}; container root file systems are such mounts`,
      `Linux 5.11 or newer mounts overlay in a user namespace (this is ${kernelRelease.trim()}): upgrade the kernel, e.g. sudo apt-get install -y linux-image-amd64, and reboot`,
    );
  }
  return check('overlay-userns', title, true, 'mounted an overlay with userxattr as mapped root');
}

function delegationCheck(r: RootlessFacts): DoctorCheck | undefined {
  const title = 'cgroup subtree delegated to you (memory, CPU and pids limits)';
  const d = r.delegation;
  if (d === undefined) return undefined;
  if (d.found) {
    return check(
      'cgroup-delegation',
      title,
      true,
      `cgroup v${d.version}: ${d.path}${d.version === 1 ? ` in all ${d.dirs} hierarchies` : ''}`,
    );
  }
  return check(
    'cgroup-delegation',
    title,
    false,
    `${d.reason}. Containers run without limits: a limit a spec asks for gives a warning (CSPEC_REQUIRE_LIMITS=1 makes it an error)`,
    d.recipe,
    false,
  );
}

function runDirCheck(uid: number, r: RootlessFacts): DoctorCheck {
  const base = r.runBase;
  const title = `private run directory (${base.fromXdg ? 'XDG_RUNTIME_DIR' : 'XDG_RUNTIME_DIR is not set, so /tmp/cspec-UID'})`;
  const why =
    'cspec keeps container state there, environment variables included: no other user may read or replace it';
  const elsewhere = 'or point XDG_RUNTIME_DIR at a directory of yours with mode 0700';
  if (base.owner === undefined) {
    return check(
      'run-dir-private',
      title,
      base.creatable,
      base.creatable
        ? `${base.path} does not exist yet; cspec creates it with mode 0700`
        : `${base.path} does not exist and you cannot create it; ${why}`,
      `sudo mkdir -p ${base.path} && sudo chown ${uid} ${base.path} && sudo chmod 700 ${base.path}   (${elsewhere})`,
    );
  }
  if (base.owner !== uid) {
    return check(
      'run-dir-private',
      title,
      false,
      `${base.path} belongs to uid ${base.owner}, not to you; ${why}`,
      base.fromXdg
        ? `export XDG_RUNTIME_DIR=/tmp/cspec-${uid}   (${elsewhere})`
        : `sudo rm -rf ${base.path}   (${elsewhere})`,
    );
  }
  const mode = (base.mode ?? 0) & 0o777;
  if ((mode & 0o077) !== 0) {
    return check(
      'run-dir-private',
      title,
      false,
      `${base.path} has mode 0${mode.toString(8)}: others may enter it; ${why}`,
      `chmod 700 ${base.path}`,
    );
  }
  return check('run-dir-private', title, true, `${base.path} (yours, mode 0${mode.toString(8)})`);
}

/** The rootless section, in the order a user fixes things. */
export function rootlessChecks(
  facts: {
    readonly uid: number;
    readonly kernelRelease: string;
    readonly maxUserNamespaces: string | undefined;
  },
  r: RootlessFacts,
): DoctorCheck[] {
  const { mineU, mineG } = ranges(facts.uid, r);
  return [
    usernsCheck(facts.uid, facts.maxUserNamespaces, r),
    subidsCheck(facts.uid, r),
    // Only a user with both ranges has the holder's maps written by them.
    idmapCheck(r, mineU !== undefined && mineG !== undefined),
    overlayCheck(facts.kernelRelease, r),
    ...[delegationCheck(r)].filter((c): c is DoctorCheck => c !== undefined),
    runDirCheck(facts.uid, r),
  ];
}
