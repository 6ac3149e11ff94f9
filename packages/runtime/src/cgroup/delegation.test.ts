import { describe, expect, it } from 'vitest';
import {
  type CgroupFsView,
  findDelegatedCgroup,
  parseCgroupMountinfo,
  parseProcCgroup,
} from './delegation.js';

/** A cgroup tree in memory: directories, file contents, and which paths the user may write. */
function fakeFs(tree: { dirs: string[]; files?: Record<string, string>; writable?: string[] }): CgroupFsView {
  const dirs = new Set(tree.dirs);
  const writable = new Set(tree.writable ?? []);
  return {
    read: (path) => tree.files?.[path],
    writable: (path) => writable.has(path),
    isDir: (path) => dirs.has(path),
    subdirs: (path) =>
      [...dirs]
        .filter((d) => d.startsWith(`${path}/`) && !d.slice(path.length + 1).includes('/'))
        .map((d) => d.slice(path.length + 1)),
  };
}

// This machine's layout: v1 controllers each in its own hierarchy, an empty cgroup2 at unified.
const HYBRID = `
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HIERARCHIES = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'];
const OWN_V1 = '9:name=systemd:/\n8:pids:/\n4:memory:/process_api/db0f\n1:cpu:/\n0::/\n';

function delegatedV1(user: string, only = HIERARCHIES, cpusetFilled = true): CgroupFsView {
  const dirs = HIERARCHIES.flatMap((h) => [`/sys/fs/cgroup/${h}`, `/sys/fs/cgroup/${h}/other`]);
  const mine = only.map((h) => `/sys/fs/cgroup/${h}/${user}`);
  const files: Record<string, string> = {};
  if (cpusetFilled) {
    files[`/sys/fs/cgroup/cpuset/${user}/cpuset.cpus`] = '0-1\n';
    files[`/sys/fs/cgroup/cpuset/${user}/cpuset.mems`] = '0\n';
  }
  return fakeFs({ dirs: [...dirs, ...mine], files, writable: mine });
}

describe('parsing', () => {
  it('reads cgroup mounts with the directory each shows', () => {
    const mounts = parseCgroupMountinfo(
      `${HYBRID}50 31 0:40 /user.slice /mnt/cg\\040x rw - cgroup2 cgroup2 rw,nsdelegate\n`,
    );
    expect(mounts.map((m) => m.mountPoint)).toEqual([
      ...HIERARCHIES.map((h) => `/sys/fs/cgroup/${h}`),
      '/sys/fs/cgroup/unified',
      '/mnt/cg x',
    ]);
    expect(mounts.at(-1)).toMatchObject({ root: '/user.slice', fsType: 'cgroup2' });
    expect(mounts.at(-2)?.options).toEqual(['rw']);
  });

  it('reads /proc/self/cgroup by controller, v2 under ""', () => {
    const own = parseProcCgroup('4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/d\n0::/e\n');
    expect(Object.fromEntries(own)).toEqual({
      memory: '/a/b',
      cpu: '/c',
      cpuacct: '/c',
      'name=systemd': '/d',
      '': '/e',
    });
  });
});

describe('findDelegatedCgroup on v1 and hybrid hosts', () => {
  const base = { mountinfo: HYBRID, procCgroup: OWN_V1, uid: 1001, user: 'alice' };

  it('finds a directory the user may write in every hierarchy', () => {
    const found = findDelegatedCgroup({ ...base, fs: delegatedV1('alice') });
    expect(found.delegated).toEqual({
      version: 1,
      path: '/alice',
      dirs: HIERARCHIES.map((h) => `/sys/fs/cgroup/${h}/alice`),
      enable: [],
    });
  });

  it('checks a configured path only', () => {
    const fs = delegatedV1('alice');
    expect(findDelegatedCgroup({ ...base, fs, path: 'alice/' }).delegated?.path).toBe('/alice');
    const other = findDelegatedCgroup({ ...base, fs, path: '/other' });
    expect(other.delegated).toBeUndefined();
    if (other.delegated === undefined) expect(other.reason).toContain('cpu: /other is not writable');
  });

  it('is all or nothing: a directory missing in one hierarchy is named', () => {
    const partial = findDelegatedCgroup({
      ...base,
      fs: delegatedV1('alice', ['cpu', 'cpuacct', 'memory', 'pids']),
    });
    expect(partial.delegated).toBeUndefined();
    if (partial.delegated !== undefined) return;
    expect(partial.reason).toContain('/alice is writable in some cgroup hierarchies but not all');
    expect(partial.reason).toContain('cpuset: no /alice');
    expect(partial.reason).toContain('systemd: no /alice');
    expect(partial.reason).not.toContain('memory:');
  });

  it('needs cpuset.cpus and cpuset.mems filled (or writable)', () => {
    const empty = findDelegatedCgroup({ ...base, fs: delegatedV1('alice', HIERARCHIES, false) });
    expect(empty.delegated).toBeUndefined();
    if (empty.delegated === undefined) expect(empty.reason).toContain('cpuset: /alice/cpuset.cpus is empty');
  });

  it('says nothing is delegated and gives the mkdir/chown recipe for every hierarchy', () => {
    const none = findDelegatedCgroup({ ...base, fs: delegatedV1('alice', []) });
    expect(none.delegated).toBeUndefined();
    if (none.delegated !== undefined) return;
    expect(none.reason).toBe(
      'no cgroup directory is delegated to alice: none is writable by it in the v1 hierarchies (cpu, cpuacct, cpuset, memory, devices, freezer, blkio, pids, systemd)',
    );
    expect(none.recipe).toContain(
      'for h in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpuset /sys/fs/cgroup/memory /sys/fs/cgroup/devices /sys/fs/cgroup/freezer /sys/fs/cgroup/blkio /sys/fs/cgroup/pids /sys/fs/cgroup/systemd; do mkdir -p "$h/alice" && chown -R alice: "$h/alice"; done',
    );
    expect(none.recipe).toContain(
      'cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/alice/cpuset.cpus; cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/alice/cpuset.mems',
    );
  });

  it("prefers the process's own cgroup when it is the same delegated path everywhere", () => {
    const fs = delegatedV1('alice');
    const deep = HIERARCHIES.map((h) => `/sys/fs/cgroup/${h}/alice/session`);
    const tree = fakeFs({
      dirs: [...HIERARCHIES.map((h) => `/sys/fs/cgroup/${h}`), ...deep],
      // cpuset.cpus and cpuset.mems empty but the user's: runc fills them from the parent.
      writable: [
        ...deep,
        '/sys/fs/cgroup/cpuset/alice/session/cpuset.cpus',
        '/sys/fs/cgroup/cpuset/alice/session/cpuset.mems',
      ],
    });
    const own = HIERARCHIES.map((h, i) => `${i}:${h === 'systemd' ? 'name=systemd' : h}:/alice/session`).join(
      '\n',
    );
    expect(findDelegatedCgroup({ ...base, procCgroup: own, fs: tree }).delegated?.path).toBe(
      '/alice/session',
    );
    expect(findDelegatedCgroup({ ...base, fs }).delegated?.path).toBe('/alice');
  });

  it('counts a hierarchy mounted twice once, and combined controllers as one', () => {
    const mountinfo = `
30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /mnt/again rw - cgroup cgroup rw,cpuacct,cpu
`;
    const mine = ['/sys/fs/cgroup/memory/bob', '/sys/fs/cgroup/cpu,cpuacct/bob'];
    const fs = fakeFs({
      dirs: ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu,cpuacct', ...mine],
      writable: mine,
    });
    expect(findDelegatedCgroup({ mountinfo, procCgroup: '', fs, uid: 5 }).delegated?.dirs).toEqual(mine);
  });
});

describe('findDelegatedCgroup on cgroup v2', () => {
  const mountinfo = '30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';
  const service = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service';
  const own = '0::/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope\n';
  const app = `${service}/app.slice`;

  function v2Tree(options: { subtree: string; controllers?: string; writable?: string[] }): CgroupFsView {
    return fakeFs({
      dirs: [
        '/sys/fs/cgroup',
        '/sys/fs/cgroup/user.slice/user-1000.slice',
        service,
        app,
        `${app}/term.scope`,
      ],
      files: {
        [`${app}/cgroup.controllers`]: options.controllers ?? 'cpuset cpu io memory pids\n',
        [`${app}/cgroup.subtree_control`]: options.subtree,
      },
      writable: options.writable ?? [app, `${app}/cgroup.procs`, `${app}/cgroup.subtree_control`],
    });
  }

  it("finds the parent of the process's own cgroup under a delegating user manager", () => {
    const found = findDelegatedCgroup({
      mountinfo,
      procCgroup: own,
      uid: 1000,
      fs: v2Tree({ subtree: 'cpu memory pids\n' }),
    });
    expect(found.delegated).toEqual({
      version: 2,
      path: '/user.slice/user-1000.slice/user@1000.service/app.slice',
      dirs: [app],
      enable: [],
    });
  });

  it('lists controllers the children still need enabled, when the user may enable them', () => {
    const found = findDelegatedCgroup({
      mountinfo,
      procCgroup: own,
      uid: 1000,
      fs: v2Tree({ subtree: 'pids' }),
    });
    expect(found.delegated?.enable).toEqual(['cpu', 'memory']);
  });

  it('says which controllers are not delegated, with the systemd drop-in', () => {
    const found = findDelegatedCgroup({
      mountinfo,
      procCgroup: own,
      uid: 1000,
      fs: v2Tree({ subtree: 'pids', controllers: 'pids' }),
    });
    expect(found.delegated).toBeUndefined();
    if (found.delegated !== undefined) return;
    expect(found.reason).toContain('offers controllers "pids", not cpu, memory');
    expect(found.recipe).toContain('/etc/systemd/system/user@.service.d/delegate.conf');
    expect(found.recipe).toContain('Delegate=cpu cpuset io memory pids');
  });

  it('is not delegated when the parent is not writable (an ssh session scope)', () => {
    const found = findDelegatedCgroup({
      mountinfo,
      procCgroup: '0::/user.slice/user-1000.slice/session-3.scope\n',
      uid: 1000,
      fs: v2Tree({ subtree: 'cpu memory pids' }),
    });
    expect(found.delegated).toBeUndefined();
    if (found.delegated === undefined) {
      expect(found.reason).toContain('/sys/fs/cgroup/user.slice/user-1000.slice is not writable by uid 1000');
      expect(found.recipe).toContain('systemd-run --user --scope');
    }
  });

  it('needs the common ancestor writable to move processes into a configured path', () => {
    const found = findDelegatedCgroup({
      mountinfo,
      procCgroup: '0::/user.slice/user-1000.slice/session-3.scope\n',
      uid: 1000,
      path: '/user.slice/user-1000.slice/user@1000.service/app.slice',
      fs: v2Tree({ subtree: 'cpu memory pids' }),
    });
    expect(found.delegated).toBeUndefined();
    if (found.delegated === undefined)
      expect(found.reason).toContain(
        'may not move containers into /user.slice/user-1000.slice/user@1000.service/app.slice: /sys/fs/cgroup/user.slice/user-1000.slice/cgroup.procs is not writable',
      );
  });
});

it('says so when no cgroup file system is mounted', () => {
  const found = findDelegatedCgroup({ mountinfo: '', procCgroup: '', fs: fakeFs({ dirs: [] }) });
  expect(found).toMatchObject({ delegated: undefined, reason: 'no cgroup file system is mounted' });
});
