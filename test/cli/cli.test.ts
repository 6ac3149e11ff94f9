/**
 * End-to-end: the built `cspec` binary against the real kernel, through the
 * native engine. Every test removes what it started; each one checks that
 * nothing of cspec is left (containers, netns, runc state, mounts...).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine } from '@cspec/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE } from '../support/engine.js';
import { expectNoLeaks, waitForNoLeaks } from '../support/leaks.js';
import { BIN, ROOT, runCli } from '../support/run-cli.js';

function cspec(args: readonly string[], timeoutMs = 120_000) {
  return runCli(args, { timeoutMs });
}

/** Ids of containers started with -d in this file, to check runc forgot them. */
const started: string[] = [];

interface PsEntry {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly exit?: { readonly exitCode: number; readonly oomKilled: boolean };
  readonly ports: Record<string, number>;
  readonly pid?: number;
}

async function psAll(): Promise<PsEntry[]> {
  const result = await cspec(['ps', '-a', '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

function runcIds(): string[] {
  return execFileSync('runc', ['list', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function netns(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

async function expectNothingLeft(): Promise<void> {
  expect(await psAll()).toEqual([]);
  const left = await waitForNoLeaks(5000);
  expect(left).toBeUndefined();
  expect(netns()).toEqual([]);
  const runc = runcIds();
  for (const id of started) expect(runc).not.toContain(id);
}

function connectAndRead(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

beforeAll(() => {
  // The tests run the built binary: build first, and fail loudly if the build fails.
  try {
    execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    throw new Error(`npx tsc -b failed:\n${(error as { stdout?: string }).stdout ?? ''}`);
  }
  expectNoLeaks();
});

afterEach(async () => {
  await expectNothingLeft();
});

afterAll(() => {
  expectNoLeaks();
});

describe('cspec run', () => {
  it('runs a command attached and prints its output', async () => {
    const result = await cspec(['run', '--rm', IMAGE, 'cat', '/etc/debian_version']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^12\.\d+\n$/);
    expect(result.code).toBe(0);
  });

  it("exits with the container's exit code", async () => {
    const result = await cspec(['run', '--rm', IMAGE, 'sh', '-c', 'exit 3']);
    expect(result.code).toBe(3);
  });

  it('passes flags after the image to the command', async () => {
    const result = await cspec(['run', '--rm', IMAGE, 'ls', '-d', '/etc']);
    expect(result.stdout).toBe('/etc\n');
    expect(result.code).toBe(0);
  });

  it('passes -e variables into the container', async () => {
    const result = await cspec([
      'run',
      '--rm',
      '-e',
      'GREETING=hello world',
      IMAGE,
      'sh',
      '-c',
      'echo "$GREETING"',
    ]);
    expect(result.stdout).toBe('hello world\n');
    expect(result.code).toBe(0);
  });

  it('keeps an exited container without --rm, listed by ps -a, until rm', async () => {
    const name = `cli-keep-${process.pid}`;
    const result = await cspec(['run', '--name', name, IMAGE, 'sh', '-c', 'echo kept; exit 4']);
    expect(result.stdout).toBe('kept\n');
    expect(result.code).toBe(4);
    const list = await psAll();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name, status: 'exited', exit: { exitCode: 4, oomKilled: false } });
    started.push(list[0]?.id as string);
    const table = await cspec(['ps', '-a']);
    expect(table.stdout).toMatch(new RegExp(`Exited \\(4\\).*${name}`));
    const logs = await cspec(['logs', name]);
    // Attached output went to the terminal, not to a log file.
    expect(logs.code).toBe(0);
    const rm = await cspec(['rm', name]);
    expect(rm.code).toBe(0);
  });

  it('kills a container that exceeds --memory: exit 137 and an OOM message', async () => {
    const result = await cspec([
      'run',
      '--rm',
      '--memory',
      '64m',
      IMAGE,
      'sh',
      '-c',
      'head -c 200m /dev/zero | tail',
    ]);
    expect(result.code).toBe(137);
    expect(result.stderr).toContain('cspec: container was killed: out of memory (limit 64 MiB)');
  });

  it('publishes a port of a detached container; ps --json shows it and TCP works', async () => {
    const server =
      '$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die $!; ' +
      'while($c=$s->accept){print $c "hello from cspec\\n"; close $c}';
    const run = await cspec(['run', '-d', '-p', '8080', IMAGE, 'perl', '-MIO::Socket::INET', '-e', server]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12,}$/);
    started.push(id);
    try {
      const list = await psAll();
      expect(list.map((c) => c.id)).toEqual([id]);
      const hostPort = list[0]?.ports['8080'];
      expect(hostPort).toBeGreaterThan(0);
      const table = await cspec(['ps']);
      expect(table.stdout).toContain(`127.0.0.1:${hostPort}->8080/tcp`);
      expect(table.stdout).toContain(id.slice(0, 12));
      // The server needs a moment to listen; the forwarder is there from the start.
      let reply = '';
      for (let i = 0; i < 50 && reply === ''; i++) {
        reply = await connectAndRead(hostPort as number).catch(() => '');
        if (reply === '') await sleep(100);
      }
      expect(reply).toBe('hello from cspec\n');
    } finally {
      const rm = await cspec(['rm', '-f', id]);
      expect(rm.code).toBe(0);
    }
  });

  it('one port hub process serves every detached container, and goes when the last one does', async () => {
    const hubPids = () =>
      execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('port-hub-main'))
        .map((l) => l.trim().split(' ')[0]);
    const server = (word: string) =>
      '$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die $!; ' +
      `while($c=$s->accept){print $c "${word}\\n"; close $c}`;
    const ids: string[] = [];
    for (const word of ['first', 'second']) {
      const run = await cspec([
        'run',
        '-d',
        '-p',
        '8080',
        IMAGE,
        'perl',
        '-MIO::Socket::INET',
        '-e',
        server(word),
      ]);
      expect(run.code, run.stderr).toBe(0);
      ids.push(run.stdout.trim());
      started.push(run.stdout.trim());
    }
    try {
      expect(hubPids()).toHaveLength(1);
      const ports = new Map((await psAll()).map((c) => [c.id, c.ports['8080'] as number]));
      const read = async (port: number) => {
        let reply = '';
        for (let i = 0; i < 50 && reply === ''; i++) {
          reply = await connectAndRead(port).catch(() => '');
          if (reply === '') await sleep(100);
        }
        return reply;
      };
      expect(await read(ports.get(ids[0]!)!)).toBe('first\n');
      expect(await read(ports.get(ids[1]!)!)).toBe('second\n');
      // Removing one closes its port only.
      expect((await cspec(['rm', '-f', ids[0]!])).code).toBe(0);
      await expect(connectAndRead(ports.get(ids[0]!)!)).rejects.toThrow();
      expect(await read(ports.get(ids[1]!)!)).toBe('second\n');
    } finally {
      await cspec(['rm', '-f', ...ids]);
    }
    // The hub exits a few seconds after it serves nobody.
    for (let i = 0; i < 80 && hubPids().length > 0; i++) await sleep(100);
    expect(hubPids()).toEqual([]);
  });

  it('contains a fork bomb with --pids', async () => {
    // The subshell forks until the limit stops it (dash then exits); the sleeps it
    // started stay, reparented to the container's init, which `exec`s without forking.
    const script = '(for i in $(seq 100); do sleep 60 & done) 2>/dev/null; exec sleep 60';
    const run = await cspec(['run', '-d', '--pids', '32', IMAGE, 'sh', '-c', script]);
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    started.push(id);
    try {
      const [info] = await psAll();
      const pid = info?.pid as number;
      expect(pid).toBeGreaterThan(0);
      let children: string[] = [];
      for (let i = 0; i < 100; i++) {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
        if (comm === 'sleep') break;
        await sleep(50);
      }
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('sleep');
      // init + the subshell + the sleeps never exceeded 32 processes.
      expect(children.length).toBeGreaterThan(10);
      expect(children.length).toBeLessThanOrEqual(30);
    } finally {
      expect((await cspec(['rm', '-f', id])).code).toBe(0);
    }
  });

  it('exits 126 when the command cannot be executed', async () => {
    const result = await cspec(['run', '--rm', IMAGE, '/etc/passwd']);
    expect(result.code).toBe(126);
    expect(result.stderr).toMatch(/^error: .*permission denied/m);
  });

  it('exits 127 when the command does not exist in the image', async () => {
    const result = await cspec(['run', '--rm', IMAGE, 'no-such-command-here']);
    expect(result.code).toBe(127);
    // (runc's own line may come first: attached, it shares the terminal's stderr.)
    expect(result.stderr).toMatch(/^error: command "no-such-command-here" was not found/m);
  });
});

describe('cspec run refuses bad input with one clear line and leaves nothing', () => {
  it.each([
    [['run', '--rm', 'cspec/does-not-exist:1', 'true'], 125, /^error: .*does-not-exist/],
    [['run', '--rm', 'Not A/Valid::Ref', 'true'], 125, /^error: /],
    [['run', '--rm', '-p', '70000', IMAGE, 'true'], 2, /^error: .*70000.*1 to 65535/],
    [['run', '--rm', '--memory', '1k', IMAGE, 'true'], 2, /^error: .*memory.*6 MiB/],
    [['run', '--rm', '--bogus', IMAGE, 'true'], 2, /^error: unknown flag: --bogus/],
  ])('%j', async (args, code, message) => {
    const result = await cspec(args);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(message);
    // At most a hint or the pointer to --help after the error line.
    expect(lines.length).toBeLessThanOrEqual(2);
  });
});

describe('other commands', () => {
  it('exec runs in a running container and passes its exit code; stop and rm end it', async () => {
    const run = await cspec(['run', '-d', '--name', `cli-exec-${process.pid}`, IMAGE, 'sleep', '60']);
    const id = run.stdout.trim();
    started.push(id);
    try {
      const exec = await cspec([
        'exec',
        '-e',
        'X=42',
        id.slice(0, 12),
        'sh',
        '-c',
        'echo "x=$X"; echo oops >&2; exit 5',
      ]);
      expect(exec.stdout).toBe('x=42\n');
      expect(exec.stderr).toBe('oops\n');
      expect(exec.code).toBe(5);
      const running = await cspec(['rm', id]);
      expect(running.code).toBe(125);
      expect(running.stderr).toContain(`cspec stop ${id}`);
      expect(running.stderr).toContain('rm -f');
      const stop = await cspec(['stop', '-t', '1', id]);
      expect(stop.code).toBe(0);
      expect((await psAll())[0]).toMatchObject({ id, status: 'exited' });
      expect((await cspec(['ps'])).stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      expect((await cspec(['rm', '-f', id])).code).toBe(0);
    }
  });

  it('logs prints what a detached container wrote', async () => {
    const run = await cspec(['run', '-d', IMAGE, 'sh', '-c', 'for i in 1 2 3; do echo line $i; done']);
    const id = run.stdout.trim();
    started.push(id);
    try {
      for (let i = 0; i < 100 && (await psAll())[0]?.status !== 'exited'; i++) await sleep(50);
      expect((await cspec(['logs', id])).stdout).toBe('line 1\nline 2\nline 3\n');
      expect((await cspec(['logs', '--tail', '1', id])).stdout).toBe('line 3\n');
    } finally {
      expect((await cspec(['rm', '-f', id])).code).toBe(0);
    }
  });

  it('export refuses a missing container; image history and tree a missing image', async () => {
    const exported = await cspec(['export', '-o', '/tmp/never.tar', 'no-such-container']);
    expect(exported.code).not.toBe(0);
    expect(exported.stderr).toMatch(/^error: .*no-such-container/m);
    const history = await cspec(['image', 'history', 'no-such/image:1']);
    expect(history.stderr).toMatch(/^error: image "no-such\/image:1" is not in the cache/m);
    const tree = await cspec(['image', 'tree', 'no-such/image:1']);
    expect(tree.stderr).toMatch(/^error: image "no-such\/image:1" is not in the cache/m);
  });

  it('image build builds a Dockerfile, then takes every step from the cache; a bad one names its line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cspec-cli-build-'));
    const tag = `cspec-test/cli-build-${process.pid}:1`;
    try {
      writeFileSync(join(dir, 'note.txt'), `built by ${process.pid}\n`);
      writeFileSync(
        join(dir, 'Dockerfile'),
        `FROM ${IMAGE}\nCOPY note.txt /note.txt\nRUN cat /note.txt > /copy.txt\nCMD ["cat", "/copy.txt"]\n`,
      );
      const first = await cspec(['image', 'build', '-t', tag, dir]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
      expect(first.stderr).toMatch(/^#2\/4 \(line 2\) COPY note.txt \/note.txt$/m);
      const again = await cspec(['build', '-t', tag, dir]);
      expect(again.stderr).toMatch(/\(3 of 3 steps cached\)/);
      expect((await cspec(['run', '--rm', tag])).stdout).toBe(`built by ${process.pid}\n`);
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${IMAGE}\nRUN exit 7\n`);
      const bad = await cspec(['image', 'build', dir]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^error: .*Dockerfile:2: RUN exit 7 exited with 7/m);
      const usage = await cspec(['image', 'build', '--build-arg', 'novalue', dir]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^error: invalid --build-arg "novalue" — use NAME=value/m);
      // More interfaces than loopback only on the host's network (the comment keeps earlier runs' cache out).
      writeFileSync(
        join(dir, 'Dockerfile'),
        `FROM ${IMAGE}\nRUN test "$(grep -c : /proc/net/dev)" -gt 1 # ${process.pid} ${Date.now()}\n`,
      );
      const isolated = await cspec(['image', 'build', '--network', 'none', dir]);
      expect(isolated.stderr).toMatch(/^error: .*Dockerfile:2: RUN .* exited with 1/m);
      const host = await cspec(['image', 'build', '--network', 'host', dir]);
      expect(host.code, host.stderr).toBe(0);
      const network = await cspec(['image', 'build', '--network', 'bridge', dir]);
      expect(network.code).toBe(2);
      expect(network.stderr).toMatch(/^error: invalid --network "bridge" — use default, none or host/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cspec(['image', 'rm', tag]);
    }
  });

  it('errors on a container that does not exist', async () => {
    const result = await cspec(['logs', 'no-such-container']);
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/^error: no such container: no-such-container\nhint: /);
  });

  it('image ls lists the base image, whose one layer the service images share', async () => {
    const result = await cspec(['image', 'ls', '--json']);
    expect(result.code).toBe(0);
    type Row = { reference: string; sizeBytes: number; sharedSizeBytes: number };
    const rows = JSON.parse(result.stdout) as Row[];
    const base = rows.find((i) => i.reference === IMAGE);
    const postgres = rows.find((i) => i.reference === 'cspec/postgres:15');
    // Both are built by the integration tests' global setup: postgres:15 is FROM the base image.
    expect(base?.sharedSizeBytes).toBe(base?.sizeBytes);
    // At least that layer; all of it when images were made from postgres:15 (prepared, init-cached).
    expect(postgres!.sharedSizeBytes).toBeGreaterThanOrEqual(base!.sizeBytes);
    expect(postgres!.sharedSizeBytes).toBeLessThanOrEqual(postgres!.sizeBytes);
    const table = await cspec(['image', 'ls']);
    expect(table.stdout.split('\n')[0]).toMatch(/^REFERENCE +IMAGE ID +CREATED +SIZE +SHARED SIZE$/);
  });

  it('image import makes an image of a root filesystem tar that runs; image load refuses a bad archive', async () => {
    const engine = await createEngine();
    const work = mkdtempSync(join(tmpdir(), 'cspec-cli-import-'));
    try {
      const [layer] = (await engine.images.resolve(IMAGE)).layerDirs;
      const tar = join(work, 'rootfs.tar');
      // A tar of the base image's tree, as `docker export` would give it.
      execFileSync('tar', ['--numeric-owner', '--xattrs', '-C', layer!, '-cf', tar, '.']);
      const imported = await cspec([
        'image',
        'import',
        '--cmd',
        'cat /etc/debian_version',
        tar,
        'cspec-test/imported:1',
      ]);
      expect(imported.stderr).toBe('');
      expect(imported.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
      const run = await cspec(['run', '--rm', 'cspec-test/imported:1']);
      expect(run.stdout).toMatch(/^12\.\d+\n$/);
      expect((await cspec(['image', 'rm', 'cspec-test/imported:1'])).code).toBe(0);

      writeFileSync(join(work, 'bad.tar'), 'not an archive\n'.repeat(100));
      const bad = await cspec(['image', 'load', '-i', join(work, 'bad.tar')]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('cannot read it as a tar archive');
    } finally {
      await engine.close();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("diff lists a container's changes and commit makes an image of them", async () => {
    const name = `cli-commit-${process.pid}`;
    const run = await cspec([
      'run',
      '--name',
      name,
      IMAGE,
      'sh',
      '-c',
      'echo hi > /greeting && rm /etc/issue.net',
    ]);
    expect(run.code).toBe(0);
    try {
      const diff = await cspec(['diff', name]);
      expect(diff.stdout.split('\n')).toEqual(
        expect.arrayContaining(['A /greeting', 'C /etc', 'D /etc/issue.net']),
      );
      const commit = await cspec(['commit', '--cmd', 'cat /greeting', name, 'cspec-test/cli-commit:1']);
      expect(commit.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
      const again = await cspec(['run', '--rm', 'cspec-test/cli-commit:1']);
      expect(again.stdout).toBe('hi\n');

      // export: the filesystem as the container sees it (its changes over its image), to a file and to a pipe.
      const dir = mkdtempSync(join(tmpdir(), 'cspec-export-'));
      try {
        const file = join(dir, 'fs.tar');
        const exported = await cspec(['export', '-o', file, name]);
        expect(exported.code, exported.stderr).toBe(0);
        const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' }).split('\n');
        expect(listing.some((l) => l.endsWith(' ./greeting'))).toBe(true);
        expect(listing.some((l) => l.endsWith(' ./etc/debian_version'))).toBe(true);
        expect(listing.some((l) => l.includes('issue.net'))).toBe(false);
        expect(listing.some((l) => l.includes('.wh.'))).toBe(false);
        expect(execFileSync('tar', ['-xOf', file, './greeting'], { encoding: 'utf8' })).toBe('hi\n');
        const piped = execFileSync('sh', ['-c', `node '${BIN}' export ${name} | tar -t | grep -c .`], {
          encoding: 'utf8',
        });
        expect(Number(piped)).toBe(listing.filter(Boolean).length);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      // history and tree: the commit is one more step, on top of its base image.
      const history = await cspec(['image', 'history', '--json', 'cspec-test/cli-commit:1']);
      const steps = JSON.parse(history.stdout) as { createdBy: string; size: number }[];
      expect(steps[0]?.createdBy).toBe('cspec commit');
      expect(steps[0]?.size).toBeGreaterThan(0);
      expect(steps.length).toBeGreaterThanOrEqual(2);
      const tree = await cspec(['image', 'tree', IMAGE]);
      expect(tree.stdout).toMatch(
        new RegExp(
          `^${IMAGE}\\b.*\\n(.*\\n)*[├└]─ docker.io/cspec-test/cli-commit:1 +[a-f0-9]{12} +\\+1 layer, `,
        ),
      );
    } finally {
      await cspec(['rm', '-f', name]);
      await cspec(['image', 'rm', 'cspec-test/cli-commit:1']);
    }
  });

  it('system df reports the store and image prune frees what nothing needs', async () => {
    const df = await cspec(['system', 'df', '--json']);
    expect(df.code).toBe(0);
    const usage = JSON.parse(df.stdout) as { images: number; layers: number; layersBytes: number };
    expect(usage.images).toBeGreaterThan(0);
    expect(usage.layersBytes).toBeGreaterThan(0);
    const prune = await cspec(['image', 'prune']);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toMatch(/^removed \d+ layer\(s\) and \d+ blob\(s\), .+ freed\n$/);
    // Tagged images are untouched.
    expect((await cspec(['run', '--rm', IMAGE, 'true'])).code).toBe(0);
  });

  it('network create, ls and rm', async () => {
    const name = `cli-net-${process.pid}`;
    expect((await cspec(['network', 'create', name])).code).toBe(0);
    try {
      const ls = await cspec(['network', 'ls', '--json']);
      expect(JSON.parse(ls.stdout).map((n: { name: string }) => n.name)).toContain(name);
    } finally {
      expect((await cspec(['network', 'rm', name])).code).toBe(0);
    }
    const after = await cspec(['network', 'ls', '--json']);
    expect(JSON.parse(after.stdout).map((n: { name: string }) => n.name)).not.toContain(name);
  });

  it('doctor passes on this host', async () => {
    const result = await cspec(['doctor', '--json']);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      cgroupMode: string;
      checks: { ok: boolean }[];
    };
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(result.code).toBe(0);
  });
});
