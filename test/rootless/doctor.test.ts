import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../support/leaks.js';
import {
  ensureRootlessUser,
  openRootlessWorld,
  type RootlessUser,
  type RootlessWorld,
} from '../support/rootless-user.js';

/**
 * `cspec doctor` as ordinary users of this host (the built CLI, run with
 * runuser, from the repository as the world's read-only bind mount shows it):
 * the rootless test user, whose setup is complete but for cgroup delegation;
 * the host with user namespaces turned off; a user with no subordinate range,
 * and scripts/rootless-user.sh giving it one.
 */
let user: RootlessUser;
let world: RootlessWorld;
/** The built CLI and the setup script, at paths every user can reach. */
const bin = () => join(world.repo, 'packages/cli/dist/bin.js');
const script = () => join(world.repo, 'scripts/rootless-user.sh');

interface Check {
  id: string;
  ok: boolean;
  required: boolean;
  detail: string;
  fix?: string;
  section?: string;
}
interface Report {
  ok: boolean;
  mode: string;
  checks: Check[];
}

function doctorAs(user: string, home: string, json: boolean): { code: number | null; stdout: string } {
  const result = spawnSync(
    'runuser',
    [
      '-u',
      user,
      '--',
      'env',
      '-i',
      `HOME=${home}`,
      'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      'NO_COLOR=1',
      process.execPath,
      bin(),
      'doctor',
      ...(json ? ['--json'] : []),
    ],
    { encoding: 'utf8', cwd: '/', timeout: 60_000 },
  );
  if (result.error) throw result.error;
  if (result.stderr) throw new Error(`doctor as ${user} wrote to stderr: ${result.stderr}`);
  return { code: result.status, stdout: result.stdout };
}

function reportAs(name: string, home: string): { code: number | null; report: Report } {
  const { code, stdout } = doctorAs(name, home, true);
  return { code, report: JSON.parse(stdout) as Report };
}

function byId(report: Report, id: string): Check {
  const check = report.checks.find((c) => c.id === id);
  if (!check) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return check;
}

const probeDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('cspec-doctor-'));
const subFiles = () => ({
  subuid: readFileSync('/etc/subuid', 'utf8'),
  subgid: readFileSync('/etc/subgid', 'utf8'),
});
let saved: { subuid: string; subgid: string };
let probesBefore: string[];

beforeAll(async () => {
  // Made (with its range) before the snapshot, which the tests' changes are undone to.
  user = ensureRootlessUser();
  world = await openRootlessWorld(user);
  saved = subFiles();
  probesBefore = probeDirs();
});

afterAll(async () => {
  // Whatever a test did to them, /etc/subuid and /etc/subgid are as they were.
  if (saved && subFiles().subuid !== saved.subuid) writeFileSync('/etc/subuid', saved.subuid);
  if (saved && subFiles().subgid !== saved.subgid) writeFileSync('/etc/subgid', saved.subgid);
  await world?.close();
  expect(probeDirs()).toEqual(probesBefore);
  expectNoLeaks();
});

describe('cspec doctor as an ordinary user', () => {
  it('reports what is true here: range, newuidmap and overlay ok, no delegation (a warning with the recipe)', () => {
    const { code, report } = reportAs(user.name, user.home);
    expect(report.mode).toBe('rootless');
    expect(byId(report, 'mode').detail).toContain(`as uid ${user.uid} (${user.name}) outside`);
    const rootless = report.checks.filter((c) => c.section === 'rootless');
    expect(Object.fromEntries(rootless.map((c) => [c.id, c.ok]))).toEqual({
      userns: true,
      subids: true,
      newuidmap: true,
      'overlay-userns': true,
      'cgroup-delegation': false,
      'run-dir-private': true,
    });
    const range = (start: number) => `${start}-${start + 65535} (65536)`;
    expect(byId(report, 'subids').detail).toBe(
      `${user.name}: uids ${range(user.subuidStart)}, gids ${range(user.subgidStart)}`,
    );
    expect(byId(report, 'newuidmap').detail).toContain('/usr/bin/newuidmap (setuid root)');
    const delegation = byId(report, 'cgroup-delegation');
    expect(delegation.required).toBe(false);
    expect(delegation.detail).toContain(`no cgroup directory is delegated to ${user.name}`);
    expect(delegation.fix).toContain(
      `mkdir -p "$h/${user.name}" && chown -R ${user.name}: "$h/${user.name}"`,
    );
    expect(byId(report, 'mmdebstrap').ok).toBe(true);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);

    const text = doctorAs(user.name, user.home, false).stdout.trimEnd().split('\n');
    const heading = text.indexOf('rootless (containers in a user namespace, as you):');
    expect(heading).toBeGreaterThan(0);
    expect(text.slice(heading)).toContain(
      'ok    overlayfs inside a user namespace (userxattr): mounted an overlay with userxattr as mapped root',
    );
    expect(text.find((l) => l.startsWith('warn  cgroup subtree delegated to you'))).toBeDefined();
    expect(text.at(-1)).toBe('everything cspec needs is here (1 warning(s) above)');
  });

  it('names user.max_user_namespaces=0 and the sysctl that fixes it', () => {
    // The limit is per user namespace and holds for the namespaces made inside: the user sets it
    // to 0 in a namespace of its own and runs doctor there (as its root, so CSPEC_ROOTLESS=1),
    // which leaves the host's value alone.
    const before = readFileSync('/proc/sys/user/max_user_namespaces', 'utf8');
    const result = spawnSync(
      'runuser',
      [
        '-u',
        user.name,
        '--',
        'unshare',
        '--user',
        '--map-root-user',
        'sh',
        '-c',
        'echo 0 > /proc/sys/user/max_user_namespaces && exec env -i HOME="$1" PATH=/usr/bin:/bin:/usr/sbin:/sbin CSPEC_ROOTLESS=1 "$2" "$3" doctor --json',
        'sh',
        user.home,
        process.execPath,
        bin(),
      ],
      { encoding: 'utf8', cwd: '/', timeout: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')).toBe(before);
    const report = JSON.parse(result.stdout) as Report;
    const userns = byId(report, 'userns');
    expect(userns.ok).toBe(false);
    expect(userns.detail).toContain('user.max_user_namespaces is 0: the kernel refuses new user namespaces');
    expect(userns.fix).toBe(
      'sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000 | sudo tee /etc/sysctl.d/60-cspec-userns.conf',
    );
    expect(byId(report, 'overlay-userns').detail).toContain('not tried');
    expect(report.ok).toBe(false);
    expect(result.status).toBe(1);
    const text = doctorAs(user.name, user.home, false);
    expect(text.code).toBe(0);
  });
});

describe('a user without a subordinate range', () => {
  const name = `rlnosub${process.pid % 100000}`;
  let home: string;

  beforeAll(() => {
    // A system account gets no subordinate range from useradd.
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/bash', name]);
    home = mkdtempSync(join(tmpdir(), 'cspec-rl-home-'));
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
    chownSync(home, uid, uid);
  });

  afterAll(() => {
    spawnSync('userdel', [name]);
    rmSync(home, { recursive: true, force: true });
    expect(spawnSync('id', ['-u', name]).status).not.toBe(0);
  });

  it('gets the usermod command with a free range; rootless-user.sh adds one, and a second run changes nothing', () => {
    expect(subFiles()).toEqual(saved);
    const before = reportAs(name, home);
    const subids = byId(before.report, 'subids');
    expect(subids.ok).toBe(false);
    expect(subids.required).toBe(false);
    expect(subids.detail).toContain(`no range for ${name} in /etc/subuid and /etc/subgid`);
    const match = /^sudo usermod --add-subuids (\d+)-(\d+) --add-subgids \1-\2 (\S+)$/.exec(subids.fix ?? '');
    expect(match?.[3]).toBe(name);
    const [start, end] = [Number(match?.[1]), Number(match?.[2])];
    expect(end - start + 1).toBe(65536);
    for (const line of `${saved.subuid}\n${saved.subgid}`.split('\n').filter(Boolean)) {
      const [, s, n] = line.split(':').map(Number) as [number, number, number];
      expect(start >= s + n || end < s, `${start}-${end} overlaps ${line}`).toBe(true);
    }
    // Without a range newuidmap is not needed: the user alone is mapped.
    expect(byId(before.report, 'newuidmap').ok).toBe(true);
    expect(before.code).toBe(0);

    const first = execFileSync(script(), [name], { encoding: 'utf8' });
    expect(first).toContain(`rootless-user: user ${name} exists`);
    expect(first).toContain(`rootless-user: added subuids ${start}-${end} for ${name} to /etc/subuid`);
    expect(first).toContain(`rootless-user: added subgids ${start}-${end} for ${name} to /etc/subgid`);
    const after = subFiles();
    const second = execFileSync(script(), [name], { encoding: 'utf8' });
    expect(second).toContain(`rootless-user: ${name} has subuids ${start}-${end} in /etc/subuid`);
    expect(subFiles()).toEqual(after);
    expect(byId(reportAs(name, home).report, 'subids').ok).toBe(true);
  });
});

describe('scripts/rootless-user.sh', () => {
  const name = `rlnew${process.pid % 100000}`;

  afterAll(() => {
    spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    expect(spawnSync('id', ['-u', name]).status).not.toBe(0);
  });

  it('creates a missing user with a home and a range, and leaves it alone the second time', () => {
    const first = execFileSync(script(), [name], { encoding: 'utf8' });
    expect(first).toMatch(new RegExp(`rootless-user: created user ${name} \\(uid \\d+\\)`));
    expect(first).toMatch(new RegExp(`${name} (has|added) subuids \\d+-\\d+`));
    expect(readFileSync('/etc/subuid', 'utf8')).toMatch(new RegExp(`^${name}:\\d+:65536$`, 'm'));
    expect(readFileSync('/etc/subgid', 'utf8')).toMatch(new RegExp(`^${name}:\\d+:65536$`, 'm'));
    expect(execFileSync('getent', ['passwd', name], { encoding: 'utf8' })).toContain(
      `/home/${name}:/bin/bash`,
    );
    const files = { ...subFiles(), passwd: readFileSync('/etc/passwd', 'utf8') };
    const second = execFileSync(script(), [name], { encoding: 'utf8' });
    expect(second).toContain(`rootless-user: user ${name} exists`);
    expect(second).not.toContain('added');
    expect({ ...subFiles(), passwd: readFileSync('/etc/passwd', 'utf8') }).toEqual(files);
  });

  it('refuses no user or a non-root caller', () => {
    expect(spawnSync(script(), [], { encoding: 'utf8' }).stderr).toContain('usage:');
    const asUser = spawnSync('runuser', ['-u', user.name, '--', script(), 'x'], { encoding: 'utf8' });
    expect(asUser.status).toBe(1);
    expect(asUser.stderr).toContain('must run as root');
  });
});
