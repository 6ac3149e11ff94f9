/**
 * Another local user must reach nothing of cspec's: not a container's
 * writable layer (a setuid shell a container wrote there would be root for
 * them, CVE-2021-41091 in Docker), not the unpacked layers (setuid binaries,
 * device nodes of images), not the state with a container's environment.
 * The engine's three directories are the guard: 0700, tightened when an
 * engine opens them, refused when someone else owns them.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine, type Engine, resolveConfig } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../support/caught.js';
import { IMAGE } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';
import { asOtherUser, ensureOtherUser, type OtherUser, reachableByOtherUser } from '../support/other-user.js';
import { runCli } from '../support/run-cli.js';

/** A container that leaves a setuid-root copy of bash in its writable layer, then stays up. */
const PLANT = 'cp /bin/bash /tmp/r && chmod 4755 /tmp/r && exec sleep 600';
const SECRET = `s3cret-${process.pid}`;

const config = resolveConfig();
const roots = [config.dataDir, config.runDir, config.tmpfsDir];
let user: OtherUser;
let engine: Engine;
let scratch: string;

beforeAll(async () => {
  user = ensureOtherUser();
  engine = await createEngine();
  scratch = mkdtempSync(join(tmpdir(), 'cspec-perms-'));
});

afterAll(async () => {
  await engine?.close();
  rmSync(scratch, { recursive: true, force: true });
  expectNoLeaks();
});

/** Every path below the engine's directories, as root sees them (the roots themselves excluded). */
function everyPathUnder(dirs: readonly string[]): string[] {
  // Exit status 1 only means some file vanished while find ran (another process's cleanup).
  const found = spawnSync('find', [...dirs, '-mindepth', '1', '-print0'], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return found.stdout.split('\0').filter((p) => p && !p.includes('\n'));
}

/** The other user can stat nothing below the roots, and `find` stops at each root. */
function expectNothingReachable(dirs: readonly string[] = roots): void {
  const paths = everyPathUnder(dirs);
  expect(paths.length).toBeGreaterThan(0);
  const reachable = reachableByOtherUser(user, paths);
  expect(reachable.slice(0, 10), `${reachable.length} of ${paths.length} paths reachable`).toEqual([]);
  const walk = asOtherUser(user, ['find', ...dirs]);
  expect(walk.status).not.toBe(0);
  for (const dir of dirs) expect(walk.stderr).toContain(`'${dir}': Permission denied`);
  expect(walk.stdout.split('\n').filter(Boolean).sort()).toEqual([...dirs].sort());
}

/** The planted shell, run as the other user, must not start (let alone with euid 0). */
function expectSetuidCopyUnusable(path: string): void {
  expect(statSync(path).mode & 0o4000, 'the container did plant a setuid file').toBe(0o4000);
  const run = asOtherUser(user, [path, '-p', '-c', 'id -u']);
  expect(run.stdout.trim()).not.toBe('0');
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/Permission denied/);
}

function expectPrivateFile(path: string): void {
  expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
  expect(asOtherUser(user, ['cat', path]).status).not.toBe(0);
}

/** Until `path` is there with its setuid bit (cp, then chmod: the file appears before the bit). */
async function waitForSetuid(path: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (((statSync(path, { throwIfNoEntry: false })?.mode ?? 0) & 0o4000) === 0) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('a running container', () => {
  it.each([
    'tmpfs',
    'disk',
  ] as const)('its writable layer (%s) and its state are out of other users’ reach', async (writableLayer) => {
    const c = await engine.run({
      image: IMAGE,
      command: ['sh', '-c', PLANT],
      env: { SECRET },
      writableLayer,
    });
    try {
      const writable =
        writableLayer === 'tmpfs' ? join(config.tmpfsDir, c.id) : join(config.dataDir, 'writable', c.id);
      const planted = join(writable, 'upper/tmp/r');
      await waitForSetuid(planted);
      expectSetuidCopyUnusable(planted);
      const dir = join(config.runDir, 'containers', c.id);
      expect(readFileSync(join(dir, 'config.json'), 'utf8')).toContain(SECRET);
      expectPrivateFile(join(dir, 'config.json'));
      expectPrivateFile(join(dir, 'state.json'));
      expectPrivateFile(join(dir, 'container.log'));
      for (const d of [dir, writable]) expect((statSync(d).mode & 0o777).toString(8)).toBe('700');
      expectNothingReachable();
    } finally {
      await c.remove();
    }
  });

  it('a non-root process inside still reads its files, its /etc files and the image, whatever the umask', async () => {
    const copied = join(scratch, 'copied.txt');
    writeFileSync(copied, 'copied\n', { mode: 0o644 });
    chmodSync(copied, 0o644);
    // The strictest umask a host may set: what users inside must read gets its mode explicitly.
    const previous = process.umask(0o077);
    const started = engine.run({
      image: IMAGE,
      user: 'daemon',
      command: [
        'sh',
        '-c',
        'cat /new-dir/given.txt /copied.txt && cat /etc/hostname /etc/hosts /etc/resolv.conf >/dev/null && ls /usr/bin >/dev/null && echo ok',
      ],
      files: [
        { target: '/new-dir/given.txt', content: 'given\n' },
        { target: '/copied.txt', source: copied },
      ],
    });
    const c = await started.finally(() => process.umask(previous));
    try {
      expect((await c.wait()).exitCode, await c.logText()).toBe(0);
      expect(await c.logText()).toBe('given\ncopied\nok\n');
    } finally {
      await c.remove();
    }
  });
});

describe('unpacked image layers', () => {
  it('setuid binaries and device nodes of an image cannot be reached', async () => {
    const { layerDirs } = await engine.images.resolve(IMAGE);
    const passwd = layerDirs.map((d) => join(d, 'usr/bin/passwd')).find((p) => existsSync(p));
    expect(passwd, 'the image has /usr/bin/passwd').toBeDefined();
    expect(statSync(passwd!).mode & 0o4000).toBe(0o4000);
    const devices = layerDirs.flatMap((d) =>
      existsSync(join(d, 'dev'))
        ? readdirSync(join(d, 'dev'))
            .map((n) => join(d, 'dev', n))
            .filter((p) => lstatSync(p).isCharacterDevice())
        : [],
    );
    expect(devices.length, 'the image has device nodes').toBeGreaterThan(0);
    expect(reachableByOtherUser(user, [passwd!, ...devices])).toEqual([]);
    expect(asOtherUser(user, [passwd!, '--status']).status).not.toBe(0);
    expect(asOtherUser(user, ['head', '-c1', devices[0]!]).status).not.toBe(0);
    expectNothingReachable([config.dataDir]);
  });
});

describe('opening the directories', () => {
  it('tightens directories an earlier version left 0755', async () => {
    const base = join(scratch, 'open');
    mkdirSync(base);
    chmodSync(base, 0o755);
    chmodSync(scratch, 0o755);
    const dirs = { dataDir: join(base, 'data'), runDir: join(base, 'run'), tmpfsDir: join(base, 'shm') };
    for (const dir of Object.values(dirs)) {
      mkdirSync(join(dir, 'containers/abc'), { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, 'containers/abc/config.json'), SECRET, { mode: 0o644 });
    }
    expect(reachableByOtherUser(user, [join(dirs.runDir, 'containers/abc/config.json')])).toHaveLength(1);
    const opened = await createEngine(dirs);
    await opened.close();
    for (const dir of Object.values(dirs)) expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expectNothingReachable(Object.values(dirs));
  });

  it('creates missing directories 0700 even under a permissive umask', async () => {
    const base = join(scratch, 'fresh');
    mkdirSync(base, { mode: 0o755 });
    const dirs = {
      dataDir: join(base, 'a/data'),
      runDir: join(base, 'b/run'),
      tmpfsDir: join(base, 'c/shm'),
    };
    const previous = process.umask(0);
    try {
      const opened = await createEngine(dirs);
      await opened.close();
    } finally {
      process.umask(previous);
    }
    for (const dir of Object.values(dirs)) expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
  });

  it('refuses a directory another user owns, or a link another user planted', async () => {
    // Like /dev/shm: world-writable and sticky, so anyone may create the tmpfs dir before cspec does.
    const shared = join(scratch, 'shm');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    chmodSync(scratch, 0o755);
    const owned = join(shared, 'cspec-owned');
    expect(asOtherUser(user, ['mkdir', '-m', '0777', owned]).status).toBe(0);
    const error = await caught(
      createEngine({ dataDir: join(scratch, 'd1'), runDir: join(scratch, 'r1'), tmpfsDir: owned }),
    );
    expect(error.code).toBe('CSPEC_UNSAFE_HOST_DIR');
    expect(error.message).toContain(owned);
    expect(error.message).toContain(`uid ${user.uid}`);
    expect(error.hint).toMatch(/rm -rf/);
    expect((statSync(owned).mode & 0o777).toString(8)).toBe('777');

    const victim = join(scratch, 'victim');
    mkdirSync(victim, { mode: 0o755 });
    chmodSync(victim, 0o755);
    const link = join(shared, 'cspec-link');
    expect(asOtherUser(user, ['ln', '-s', victim, link]).status).toBe(0);
    const linkError = await caught(
      createEngine({ dataDir: join(scratch, 'd2'), runDir: join(scratch, 'r2'), tmpfsDir: link }),
    );
    expect(linkError.code).toBe('CSPEC_UNSAFE_HOST_DIR');
    expect((statSync(victim).mode & 0o777).toString(8)).toBe('755');
  });
});

describe('process command lines', () => {
  it('registry credentials given to an engine appear in no command line', async () => {
    const secret = `cred-${process.pid}-${Date.now()}`;
    const withCredentials = await createEngine({
      registry: { dockerAuthConfig: JSON.stringify({ auths: { 'registry.example': { auth: secret } } }) },
    });
    try {
      // Its first container starts the session's watcher, which is handed the engine's configuration.
      const c = await withCredentials.run({ image: IMAGE, command: ['sleep', '60'] });
      try {
        const seen = asOtherUser(user, [
          '/bin/sh',
          '-c',
          'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done',
        ]);
        const lines = seen.stdout.split('\n');
        expect(lines.some((l) => l.includes('watcher-main'))).toBe(true);
        // Only the start of a leaking line: the rest of the host's command lines are none of the test's business.
        expect(lines.filter((l) => l.includes(secret)).map((l) => l.slice(0, 60))).toEqual([]);
      } finally {
        await c.remove();
      }
    } finally {
      await withCredentials.close();
    }
  });
});

describe('the command line', () => {
  const cspec = (args: readonly string[]) => runCli(args);

  it('a detached container (cspec run -d) is out of reach too', async () => {
    const run = await cspec(['run', '-d', '-e', `SECRET=${SECRET}`, IMAGE, 'sh', '-c', PLANT]);
    expect(run.code, run.stderr).toBe(0);
    const id = run.stdout.trim();
    try {
      const planted = join(config.tmpfsDir, id, 'upper/tmp/r');
      await waitForSetuid(planted);
      expectSetuidCopyUnusable(planted);
      expectPrivateFile(join(config.runDir, 'containers', id, 'config.json'));
      expectPrivateFile(join(config.runDir, 'containers', id, 'container.log'));
      expectNothingReachable();
    } finally {
      const rm = await cspec(['rm', '-f', id]);
      expect(rm.code, rm.stderr).toBe(0);
    }
  });
});

describe('an image build', () => {
  it('its RUN steps, build-tmp and the layers it makes are out of reach', async () => {
    const context = join(scratch, 'context');
    mkdirSync(context);
    writeFileSync(join(context, 'data.txt'), 'context file\n');
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        `FROM ${IMAGE}`,
        'COPY data.txt /data.txt',
        // A fresh step every run (never cached): it plants the shell, then waits long enough to be looked at.
        `RUN echo ${process.pid}-${Date.now()} > /marker && cp /bin/bash /tmp/r && chmod 4755 /tmp/r && sleep 4`,
        '',
      ].join('\n'),
    );
    const tag = `cspec-test/perms-${process.pid}`;
    const before = new Set(
      existsSync(join(config.dataDir, 'writable')) ? readdirSync(join(config.dataDir, 'writable')) : [],
    );
    const build = engine.build({ context, tag });
    build.catch(() => {});
    try {
      // While the RUN step sleeps, its writable layer holds the setuid copy.
      const end = Date.now() + 60_000;
      let planted: string | undefined;
      while (!planted) {
        if (Date.now() > end) throw new Error('the RUN step never planted its file');
        planted = readdirSync(join(config.dataDir, 'writable'))
          .filter((id) => !before.has(id))
          .map((id) => join(config.dataDir, 'writable', id, 'upper/tmp/r'))
          .find((p) => ((statSync(p, { throwIfNoEntry: false })?.mode ?? 0) & 0o4000) !== 0);
        await sleep(50);
      }
      expect(existsSync(join(config.dataDir, 'build-tmp'))).toBe(true);
      expectSetuidCopyUnusable(planted);
      expectNothingReachable();
      await build;
      const { layerDirs } = await engine.images.resolve(tag);
      const layer = layerDirs.find((d) => existsSync(join(d, 'tmp/r')));
      expect(layer).toBeDefined();
      expectSetuidCopyUnusable(join(layer!, 'tmp/r'));
      expectNothingReachable([config.dataDir]);
    } finally {
      await build.catch(() => {});
      await engine.images.remove(tag).catch(() => {});
    }
  });
});
