import { describe, expect, it } from 'vitest';
import { formatReport, type HostFacts, runChecks } from './checks.js';
import type { RootlessFacts } from './rootless-checks.js';

const MOUNTS = `
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw
28 26 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
29 26 0:27 / /sys/fs/cgroup/pids rw,nosuid shared:11 - cgroup cgroup rw,pids
30 26 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
31 22 0:29 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw
`;

// This machine as the rootless test user: everything but a delegated cgroup.
const ROOTLESS: RootlessFacts = {
  user: 'alice',
  apparmorRestrictUserns: undefined,
  unprivilegedUsernsClone: undefined,
  subuid: 'bob:100000:65536\nalice:165536:65536\n',
  subgid: 'bob:100000:65536\nalice:165536:65536\n',
  newuidmap: { path: '/usr/bin/newuidmap', setuidRoot: true },
  newgidmap: { path: '/usr/bin/newgidmap', setuidRoot: true },
  usernsProbe: { ok: true },
  overlayProbe: { ok: true },
  delegation: {
    found: false,
    reason: 'no cgroup directory is delegated to alice',
    recipe: 'mkdir ...\nchown ...',
  },
  runBase: { path: '/run/user/1000', fromXdg: true, owner: 1000, mode: 0o40700, creatable: false },
};

const HOST: HostFacts = {
  uid: 1000,
  kernelRelease: '6.1.0-18-amd64',
  filesystems: 'nodev\ttmpfs\nnodev\toverlay\n',
  mountinfo: MOUNTS,
  v2Controllers: undefined,
  maxUserNamespaces: '63000\n',
  executables: { runc: '/usr/sbin/runc', mmdebstrap: '/usr/bin/mmdebstrap', ip: '/usr/sbin/ip' },
  runtimeVersion: 'runc version 1.1.5',
  configuredRuntime: undefined,
  shmWritable: true,
  dataDir: { path: '/home/alice/.local/share/cspec', writable: true },
  runDir: { path: '/run/user/1000/cspec', writable: true },
  rootless: ROOTLESS,
};

function rootless(change: Partial<RootlessFacts>, host: Partial<HostFacts> = {}) {
  const report = runChecks({ ...HOST, ...host, rootless: { ...ROOTLESS, ...change } });
  return { report, failed: report.checks.filter((c) => !c.ok) };
}

describe('rootless section', () => {
  it('passes with one warning when nothing is delegated', () => {
    const { report, failed } = rootless({});
    expect(report.mode).toBe('rootless');
    expect(report.ok).toBe(true);
    expect(failed.map((c) => [c.id, c.required])).toEqual([['cgroup-delegation', false]]);
    expect(failed[0]?.detail).toContain('Containers run without limits');
    expect(failed[0]?.fix).toBe('mkdir ...\nchown ...');
    expect(report.checks.filter((c) => c.section === 'rootless').map((c) => c.id)).toEqual([
      'userns',
      'subids',
      'newuidmap',
      'overlay-userns',
      'cgroup-delegation',
      'run-dir-private',
    ]);
    expect(report.checks.find((c) => c.id === 'mmdebstrap')?.ok).toBe(true);
    expect(report.checks.find((c) => c.id === 'debootstrap')).toBeUndefined();
  });

  it('is all green with a delegated subtree', () => {
    const { failed } = rootless({ delegation: { found: true, version: 1, path: '/alice', dirs: 9 } });
    expect(failed).toEqual([]);
  });

  it.each([
    [
      {},
      { maxUserNamespaces: '0\n' },
      'user.max_user_namespaces is 0',
      'sudo sysctl -w user.max_user_namespaces=15000',
    ],
    [
      { unprivilegedUsernsClone: '0\n' },
      {},
      'kernel.unprivileged_userns_clone is 0',
      'sudo sysctl -w kernel.unprivileged_userns_clone=1',
    ],
    [
      { apparmorRestrictUserns: '1\n', overlayProbe: { ok: false, error: 'mount: permission denied' } },
      {},
      'kernel.apparmor_restrict_unprivileged_userns is 1',
      'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    ],
    [
      { usernsProbe: { ok: false, error: 'unshare: unshare failed: Operation not permitted' } },
      {},
      'Operation not permitted',
      'allow unprivileged user namespaces (see docs/rootless.md)',
    ],
  ] as const)('fails user namespaces: %j %j', (change, host, detail, fix) => {
    const { report, failed } = rootless(change, host);
    const userns = failed.find((c) => c.id === 'userns');
    expect(userns?.detail).toContain(detail);
    expect(userns?.fix).toContain(fix);
    if (fix.startsWith('sudo sysctl'))
      expect(userns?.fix).toContain('| sudo tee /etc/sysctl.d/60-cspec-userns.conf');
    expect(report.ok).toBe(false);
  });

  it("passes Ubuntu's AppArmor restriction when a profile lets unshare mount in a user namespace", () => {
    const { report } = rootless({ apparmorRestrictUserns: '1\n' });
    const userns = report.checks.find((c) => c.id === 'userns');
    expect(userns?.ok).toBe(true);
    expect(userns?.detail).toContain('a profile allows unshare');
  });

  it('prints the usermod command with a free range when the user has none', () => {
    const { report, failed } = rootless({ subuid: 'bob:100000:65536\n', subgid: 'bob:100000:65536\n' });
    expect(failed.map((c) => c.id)).toEqual(['subids', 'cgroup-delegation']);
    expect(failed[0]?.detail).toContain('no range for alice in /etc/subuid and /etc/subgid');
    expect(failed[0]?.fix).toBe('sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice');
    // A warning: the user alone is mapped and newuidmap is not needed.
    expect(report.ok).toBe(true);
    const out = formatReport(report);
    expect(out).toContain(
      '      fix: sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice',
    );
    expect(out.at(-1)).toBe('everything cspec needs is here (2 warning(s) above)');
  });

  it('adds only the missing range, and finds ranges by uid too', () => {
    const { failed } = rootless({ subuid: '1000:200000:65536\n', subgid: '' });
    expect(failed[0]?.fix).toBe('sudo usermod --add-subgids 100000-165535 alice');
  });

  it('warns about a range smaller than 65536', () => {
    const { failed } = rootless({ subuid: 'alice:100000:1000\n' });
    expect(failed[0]?.id).toBe('subids');
    expect(failed[0]?.detail).toContain('fewer than 65536');
  });

  it('needs newuidmap/newgidmap when the user has a range', () => {
    const { report, failed } = rootless({ newuidmap: undefined });
    expect(failed[0]).toMatchObject({ id: 'newuidmap', required: true });
    expect(failed[0]?.fix).toContain('sudo apt-get install -y uidmap');
    expect(report.ok).toBe(false);
    const noRange = rootless({ newuidmap: undefined, newgidmap: undefined, subuid: '', subgid: '' });
    expect(noRange.failed.find((c) => c.id === 'newuidmap')?.required).toBe(false);
    expect(noRange.report.ok).toBe(true);
  });

  it('accepts file capabilities instead of setuid, and refuses neither', () => {
    const caps = {
      path: '/usr/bin/newuidmap',
      setuidRoot: false,
      fileCaps: '/usr/bin/newuidmap cap_setuid=ep',
    };
    expect(rootless({ newuidmap: caps }).failed.map((c) => c.id)).toEqual(['cgroup-delegation']);
    const plain = rootless({ newuidmap: { path: '/usr/bin/newuidmap', setuidRoot: false } });
    expect(plain.failed[0]?.fix).toContain('sudo chmod u+s /usr/bin/newuidmap');
  });

  it('fails overlay in a user namespace with the kernel to upgrade to', () => {
    const { failed } = rootless(
      { overlayProbe: { ok: false, error: 'mount: wrong fs type' } },
      { kernelRelease: '5.10.0-28-amd64' },
    );
    expect(failed[0]?.id).toBe('overlay-userns');
    expect(failed[0]?.detail).toContain('wrong fs type');
    expect(failed[0]?.fix).toContain('Linux 5.11 or newer');
    expect(rootless({ overlayProbe: undefined }).failed[0]?.detail).toContain('not tried');
  });

  it.each([
    [{ owner: 0 }, 'belongs to uid 0', 'export XDG_RUNTIME_DIR=/tmp/cspec-1000'],
    [{ mode: 0o40755 }, 'mode 0755', 'chmod 700 /run/user/1000'],
    [{ owner: undefined, creatable: false }, 'you cannot create it', 'sudo mkdir -p /run/user/1000'],
  ] as const)('checks the run directory: %j', (change, detail, fix) => {
    const { report, failed } = rootless({ runBase: { ...ROOTLESS.runBase, ...change } });
    const check = failed.find((c) => c.id === 'run-dir-private');
    expect(check?.detail).toContain(detail);
    expect(check?.fix).toContain(fix);
    expect(report.ok).toBe(false);
  });

  it('takes a /tmp fallback that does not exist yet', () => {
    const runBase = {
      path: '/tmp/cspec-1000',
      fromXdg: false,
      owner: undefined,
      mode: undefined,
      creatable: true,
    };
    const check = rootless({ runBase }).report.checks.find((c) => c.id === 'run-dir-private');
    expect(check?.ok).toBe(true);
    expect(check?.title).toContain('XDG_RUNTIME_DIR is not set');
    const squatted = rootless({ runBase: { ...runBase, owner: 1001, mode: 0o40700 } }).failed.find(
      (c) => c.id === 'run-dir-private',
    );
    expect(squatted?.fix).toContain('sudo rm -rf /tmp/cspec-1000');
  });

  it('prints the section under its own heading, multi-line fixes indented', () => {
    const lines = formatReport(rootless({}).report);
    const heading = lines.indexOf('rootless (containers in a user namespace, as you):');
    expect(heading).toBeGreaterThan(0);
    expect(lines[heading - 1]).toBe('');
    expect(lines[heading + 1]).toMatch(/^ok {4}unprivileged user namespaces/);
    expect(lines).toContain('      fix: mkdir ...');
    expect(lines).toContain('           chown ...');
  });
});
