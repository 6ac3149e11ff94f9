/**
 * The native engine as an ordinary user (issue #15): a real unprivileged
 * account with a subordinate id range, no sudo. Images reach its store the
 * way a user's would without a registry: root saves them, the user loads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerArchive, tarOf } from '../support/archives.js';
import { expectNoLeaks } from '../support/leaks.js';
import { ensureRootlessUser, openRootlessWorld, type RootlessWorld } from '../support/rootless-user.js';
import { runCli } from '../support/run-cli.js';

const DEBIAN = 'cspec/debian:bookworm';
const POSTGRES = 'cspec/postgres:17';

/** The user's live processes (zombies that this host's init has not reaped yet are gone already). */
function processesOf(uid: number): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const realUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      if (realUid === uid && state !== 'Z')
        out.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8')}`);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** The user's processes once those that end with a finished command (its namespace holder) had 2 s to. */
async function processesLeft(uid: number): Promise<string[]> {
  await until(() => processesOf(uid).length === 0, 2_000);
  return processesOf(uid);
}

const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('rootless engine', () => {
  let world: RootlessWorld;
  beforeAll(async () => {
    world = await openRootlessWorld(ensureRootlessUser());
    for (const image of [DEBIAN, POSTGRES]) {
      const file = join(world.repo, '..', `${image.replace(/\W/g, '_')}.tar`);
      const saved = await runCli(['image', 'save', '-o', file, image]);
      expect(saved.code, saved.stderr).toBe(0);
      const loaded = await world.cli(['image', 'load', '-i', file]);
      expect(loaded.status, loaded.stderr).toBe(0);
    }
  }, 600_000);
  afterAll(async () => {
    await world?.close();
    expectNoLeaks();
  });

  it("runs a container as root inside and as the user outside, with the user's subordinate ids for others", async () => {
    const { user } = world;
    const started = await world.cli(['run', '-d', '--name', 'rl-id', DEBIAN, 'sleep', '600']);
    expect(started.status, started.stderr).toBe(0);
    try {
      const id = started.stdout.trim();
      const inside = await world.cli(['exec', 'rl-id', 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
      expect(inside.status, inside.stderr).toBe(0);
      const [uid, ...map] = inside.stdout.trim().split('\n');
      expect(uid).toBe('0');
      expect(map.map((l) => l.trim().split(/\s+/).map(Number))).toEqual([
        [0, user.uid, 1],
        [1, user.subuidStart, 65536],
      ]);
      const pid = readFileSync(join(world.dirs.run, 'containers', id, 'pid'), 'utf8').trim();
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${user.uid}\\s`, 'm'));
      // A process that drops to nobody (65534 inside) is a subordinate id outside.
      const nobody = await world.cli(['exec', '-u', 'nobody', 'rl-id', 'sh', '-c', 'echo $$; sleep 2']);
      expect(nobody.status, nobody.stderr).toBe(0);
    } finally {
      await world.cli(['rm', '-f', 'rl-id']);
    }
    expect(await processesLeft(user.uid)).toEqual([]);
  });

  it("keeps the owners of an image's files: Postgres's belong to postgres inside", async () => {
    const result = await world.cli([
      'run',
      '--rm',
      POSTGRES,
      'sh',
      '-c',
      'stat -c "%U:%G %a" /var/run/postgresql; ls -ln /etc/shadow | cut -d" " -f3,4; stat -c %a /usr/bin/passwd',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['postgres:postgres 2775', '0 42', '4755']);
  });

  it("honours an image's deleted files and opaque directories (overlay's markers in a user namespace)", async () => {
    // The Debian layer, then one that makes /data, then one that deletes /etc/motd and replaces /data
    // with an opaque directory: user.overlay.opaque once unpacked, which overlay reads only with userxattr.
    const saved = join(world.repo, '..', `${DEBIAN.replace(/\W/g, '_')}.tar`);
    const manifest = JSON.parse(
      execFileSync('tar', ['-xOf', saved, 'manifest.json'], { encoding: 'utf8' }),
    ) as {
      Layers: string[];
    }[];
    const base = execFileSync('tar', ['-xOf', saved, manifest[0]!.Layers[0]!], { maxBuffer: 1 << 30 });
    const archive = join(world.repo, '..', 'opaque.tar');
    writeFileSync(
      archive,
      await dockerArchive(
        [
          base,
          await tarOf([
            { name: 'data/', type: 'directory', mode: 0o755 },
            { name: 'data/old', content: 'old' },
          ]),
          await tarOf([
            { name: 'etc/.wh.motd', content: '' },
            { name: 'data/', type: 'directory', mode: 0o755 },
            { name: 'data/.wh..wh..opq', content: '' },
            { name: 'data/new', content: 'new' },
          ]),
        ],
        { repoTag: 'rl/opaque:1', cmd: ['bash'] },
      ),
    );
    const loaded = await world.cli(['image', 'load', '-i', archive]);
    expect(loaded.status, loaded.stderr).toBe(0);
    const seen = await world.cli([
      'run',
      '--rm',
      'rl/opaque:1',
      'sh',
      '-c',
      'ls /data; test -e /etc/motd && echo motd present || echo motd gone',
    ]);
    expect(seen.status, seen.stderr).toBe(0);
    expect(seen.stdout.trim().split('\n')).toEqual(['new', 'motd gone']);
  });

  it('runs Postgres as its own user and answers psql inside', async () => {
    const started = await world.cli(['run', '-d', '--name', 'rl-pg', '-e', 'POSTGRES_PASSWORD=pw', POSTGRES]);
    expect(started.status, started.stderr).toBe(0);
    try {
      let answer = '';
      for (let i = 0; i < 100 && !answer.includes('42'); i++) {
        const q = await world.cli(['exec', '-u', 'postgres', 'rl-pg', 'psql', '-tAc', 'select 42']);
        answer = q.stdout;
        if (!answer.includes('42')) await new Promise((r) => setTimeout(r, 200));
      }
      expect(answer.trim()).toBe('42');
      const who = await world.cli([
        'exec',
        'rl-pg',
        'sh',
        '-c',
        'ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1',
      ]);
      expect(who.stdout.trim()).toBe('postgres');
    } finally {
      await world.cli(['rm', '-f', 'rl-pg']);
    }
    expect(entries(join(world.dirs.run, 'containers'))).toEqual([]);
    expect(entries(world.dirs.tmpfs)).toEqual([]);
  });

  it('removes everything within 5 s after the owning process is SIGKILLed', async () => {
    const owner = world.spawn('test/rootless/child/owner.ts', [DEBIAN, '2']);
    let out = '';
    owner.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let err = '';
    owner.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      expect(await until(() => out.includes('ready'), 60_000), err).toBe(true);
      expect(entries(join(world.dirs.run, 'containers'))).toHaveLength(2);
    } finally {
      owner.kill('SIGKILL');
    }
    const clean = await until(
      () =>
        processesOf(world.user.uid).length === 0 &&
        entries(join(world.dirs.run, 'containers')).length === 0 &&
        entries(join(world.dirs.run, 'runc')).length === 0 &&
        entries(world.dirs.tmpfs).length === 0,
      5_000,
    );
    expect(
      clean,
      JSON.stringify({
        processes: processesOf(world.user.uid),
        containers: entries(join(world.dirs.run, 'containers')),
        runc: entries(join(world.dirs.run, 'runc')),
        tmpfs: entries(world.dirs.tmpfs),
      }),
    ).toBe(true);
  });

  it('runs a container that asks for limits without them, with one warning, where no cgroup is delegated', async () => {
    const owner = world.spawn('test/rootless/child/owner.ts', [
      DEBIAN,
      '2',
      JSON.stringify({ memoryBytes: 64 << 20, pids: 50 }),
    ]);
    let out = '';
    let err = '';
    owner.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    owner.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      expect(await until(() => out.includes('ready'), 60_000), err).toBe(true);
      expect(err.match(/CSPEC_LIMITS_IGNORED/g)).toHaveLength(1);
      expect(err).toMatch(/without memory, pids limits: no cgroup is delegated to this user/);
    } finally {
      owner.kill('SIGKILL');
    }
    expect(await until(() => processesOf(world.user.uid).length === 0, 5_000)).toBe(true);
  });

  it('fails the start instead with CSPEC_REQUIRE_LIMITS=1, and leaves nothing', async () => {
    const result = await world.run(
      'test/rootless/child/owner.ts',
      [DEBIAN, '1', JSON.stringify({ memoryBytes: 64 << 20 })],
      { CSPEC_REQUIRE_LIMITS: '1' },
    );
    expect(result.status).toBe(3);
    const reported = JSON.parse(result.stdout.trim()) as { error: string; message: string; hint: string };
    expect(reported.error).toBe('CSPEC_HOST_UNSUPPORTED');
    expect(reported.message).toContain('cannot enforce the memory limit of this container');
    expect(reported.hint).toContain('cspec doctor');
    expect(entries(join(world.dirs.run, 'containers'))).toEqual([]);
    expect(await processesLeft(world.user.uid)).toEqual([]);
  });

  it('with a cgroup subtree delegated to the user, a 64 MB limit OOM-kills a 200 MB allocation, and cspec says so', async () => {
    const name = `rl-oom-${process.pid}`;
    const hierarchies = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(' - cgroup cgroup '))
      .map((l) => l.split(' ')[4]!);
    const made: string[] = [];
    try {
      // As docs/rootless.md says for v1 and hybrid hosts: a directory in every hierarchy, cpuset filled.
      for (const h of hierarchies) {
        mkdirSync(`${h}/${name}`);
        made.push(`${h}/${name}`);
        if (h.endsWith('/cpuset')) {
          for (const f of ['cpuset.cpus', 'cpuset.mems'])
            writeFileSync(`${h}/${name}/${f}`, readFileSync(`${h}/${f}`));
        }
        execFileSync('chown', ['-R', `${world.user.uid}:${world.user.gid}`, `${h}/${name}`]);
      }
      const result = await world.run('test/rootless/child/oom.ts', [DEBIAN]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/CSPEC_LIMITS_IGNORED/);
      const status = JSON.parse(result.stdout.trim()) as {
        exitCode: number;
        oomKilled: boolean;
        logs: string;
      };
      expect(status).toMatchObject({ exitCode: 137, oomKilled: true });
      expect(status.logs).not.toContain('survived');
    } finally {
      for (const dir of made.reverse()) {
        // The container's own cgroup is gone with it; only the delegated directory is left.
        try {
          rmdirSync(dir);
        } catch {
          // removed already
        }
      }
    }
    expect(made.filter((d) => existsSync(d))).toEqual([]);
    expect(await processesLeft(world.user.uid)).toEqual([]);
  });

  it('says clearly when user namespaces are turned off, and leaves nothing', async () => {
    // The host's limit needs more than root's capabilities here; the same limit of a namespace of the
    // user's own is 0 instead, and cspec runs in it (as its root, so CSPEC_ROOTLESS=1).
    const before = readFileSync('/proc/sys/user/max_user_namespaces', 'utf8');
    const result = await world.command(
      [
        'unshare',
        '--user',
        '--map-root-user',
        'sh',
        '-c',
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"',
        'sh',
        process.execPath,
        join(world.repo, 'packages/cli/dist/bin.js'),
        'run',
        '--rm',
        DEBIAN,
        'true',
      ],
      { CSPEC_ROOTLESS: '1', CSPEC_TMPFS_DIR: join(world.dirs.run, '..', 'shm') },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/cannot create a user namespace as root/);
    expect(result.stderr).toContain('sudo sysctl -w user.max_user_namespaces=');
    expect(result.stderr).not.toMatch(/bug in cspec/);
    expect(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')).toBe(before);
    expect(entries(join(world.dirs.run, 'containers'))).toEqual([]);
    expect(await processesLeft(world.user.uid)).toEqual([]);
  });
});
