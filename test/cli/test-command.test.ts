/**
 * End-to-end: the built `cspec test` runs examples/matrix-distros on three
 * Debian releases; a failure on one of them shows in the exit code, the
 * table and the JUnit report; the project on the host is not modified; an
 * interrupted or killed run leaves nothing behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, waitForNoLeaks } from '../support/leaks.js';
import { openTerminal } from '../support/tmux.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/dist/bin.js');
const EXAMPLE = join(ROOT, 'examples/matrix-distros');
const SLOW = join(ROOT, 'fixtures/test-command');
const DISTROS = 'debian:bullseye,debian:bookworm,debian:trixie';

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(args: readonly string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', GITHUB_ACTIONS: '', ...env },
  });
}

function finish(child: ChildProcess, timeoutMs = 240_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cspec test timed out\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every path, mode and content under `dir` (but `skip`), hashed. */
function treeHash(dir: string, skip: readonly string[] = []): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    const st = statSync(path);
    hash.update(`${relative(dir, path)}\0${st.mode}\0`);
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (!skip.includes(name)) walk(join(path, name));
    } else hash.update(readFileSync(path));
  };
  walk(dir);
  return hash.digest('hex');
}

let reports: string;

// On a cold cache the releases and the example's Postgres are built here (debootstrap, about
// a minute each), so that no test pays for it within its own timeout.
beforeAll(async () => {
  try {
    execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    throw new Error(`npx tsc -b failed:\n${(error as { stdout?: string }).stdout ?? ''}`);
  }
  reports = mkdtempSync(join(tmpdir(), 'cspec-test-reports-'));
  const engine = await createEngine();
  try {
    await Promise.all(
      [...DISTROS.split(',').map((d) => `cspec/${d}`), 'cspec/postgres:17', 'cspec/redis:7'].map((image) =>
        engine.images.resolve(image),
      ),
    );
  } finally {
    await engine.close();
  }
}, 900_000);

afterAll(() => {
  rmSync(reports, { recursive: true, force: true });
  expectNoLeaks();
});

describe('cspec test --distro', () => {
  it('runs the example on three releases in parallel and leaves the project as it was', async () => {
    const junit = join(reports, 'pass/junit.xml');
    const before = treeHash(EXAMPLE, ['node_modules', 'cspec-report']);
    const result = await finish(start(['test', '--distro', DISTROS, '--junit', junit], EXAMPLE));
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.split('\n').filter((l) => l.startsWith('debian:'));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/^debian:\w+\s+5\s+0\s+1\s+\d+\.\ds\s+✔ passed$/);
    // One Postgres for all three, started by the CLI on the host (the suites reach it as "db").
    expect(result.stderr.match(/\[cspec\] db \(cspec\/postgres:\d+\) ready in/g)).toHaveLength(1);
    // Non-TTY progress: timestamped lines.
    expect(result.stderr).toMatch(
      /^\[\d\d:\d\d:\d\d\] debian:trixie: ✔ passed — 5 passed, 0 failed, 1 skipped/m,
    );
    // The tests wrote into the project (scratch/, package.json): only their containers saw it.
    expect(treeHash(EXAMPLE, ['node_modules', 'cspec-report'])).toBe(before);
    expect(readdirSync(join(reports, 'pass')).sort()).toEqual([
      'junit-debian-bookworm.xml',
      'junit-debian-bullseye.xml',
      'junit-debian-trixie.xml',
      'junit.xml',
      'vitest-debian-bookworm.log',
      'vitest-debian-bullseye.log',
      'vitest-debian-trixie.log',
    ]);
    expect(readFileSync(join(reports, 'pass/junit-debian-bullseye.xml'), 'utf8')).toMatch(
      /<testcase classname="test\/postgres.test.ts" name="reaches the Postgres service from inside the distribution"/,
    );
    // Vitest's own report per distribution.
    expect(readFileSync(join(reports, 'pass/junit-debian-trixie.xml'), 'utf8')).toMatch(
      /<testcase classname="test\/debian.test.ts" name="on debian:trixie &gt; has that release&apos;s dpkg"/,
    );
  });

  it('fails on bullseye only when asked: exit 1, and the table and merged JUnit say where and what', async () => {
    const junit = join(reports, 'fail/junit.xml');
    const summary = join(reports, 'summary.md');
    writeFileSync(summary, '');
    const result = await finish(
      start(['--distro', DISTROS, '--junit', junit, '-e', 'CSPEC_EXAMPLE_BREAK_BULLSEYE'], EXAMPLE, {
        CSPEC_EXAMPLE_BREAK_BULLSEYE: '1',
        GITHUB_ACTIONS: 'true',
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_WORKSPACE: ROOT,
      }),
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^debian:bullseye\s+5\s+1\s+0\s+\S+\s+✖ failed$/m);
    expect(result.stdout).toMatch(/^debian:bookworm\s+6\s+0\s+0\s+\S+\s+✔ passed$/m);
    expect(result.stdout).toMatch(/^debian:trixie\s+6\s+0\s+0\s+\S+\s+✔ passed$/m);
    expect(result.stdout).toContain(
      '✖ debian:bullseye  test/debian.test.ts > on debian:bullseye > needs dpkg 1.21 or later',
    );
    expect(result.stdout).toMatch(
      /^::error file=examples\/matrix-distros\/test\/debian.test.ts,line=\d+,title=debian%3Abullseye%3A .*needs dpkg 1.21 or later::AssertionError: dpkg 1.20.\d+ is too old/m,
    );
    expect(readFileSync(summary, 'utf8')).toMatch(/\| ❌ \| debian:bullseye \| 5 \| 1 \| 0 \|/);

    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="\[debian:bullseye\] test\/debian.test.ts" tests="5" failures="1"/);
    expect(xml).toMatch(/<testsuite name="\[debian:bookworm\] test\/debian.test.ts" tests="5" failures="0"/);
    expect(xml).toMatch(/<testsuite name="\[debian:trixie\] test\/debian.test.ts" tests="5" failures="0"/);
    expect(xml).toMatch(
      /name="on debian:bullseye (&gt;|>) needs dpkg 1.21 or later" time="[\d.]+">\s*<failure message="AssertionError: dpkg 1.20.\d+ is too old/,
    );
    expect(xml).toMatch(/at .*test\/debian.test.ts:\d+:\d+/);
  });
});

describe('cspec test on a terminal (read back from tmux)', () => {
  it('redraws one live line per distribution in place, then prints a readable table', async () => {
    const term = openTerminal([process.execPath, BIN, 'test', '--distro', 'debian:bookworm,debian:trixie'], {
      cwd: EXAMPLE,
      env: { GITHUB_ACTIONS: '', TERM: 'xterm-256color' },
      columns: 110,
      rows: 45,
    });
    const screens: string[][] = [];
    try {
      const end = Date.now() + 180_000;
      for (;;) {
        const screen = term.screen();
        screens.push(screen);
        if (screen.some((l) => /^\[exit \d+\]$/.test(l))) break;
        if (Date.now() > end) throw new Error(`cspec test did not end:\n${screen.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      term.close();
    }
    const last = screens.at(-1) as string[];
    const shown = last.join('\n');
    expect(last, shown).toContain('[exit 0]');
    const live = (screen: readonly string[], distro: string) =>
      screen.filter((l) => new RegExp(`^\\S ${distro} `).test(l));
    // While the suites run: each distribution has exactly one line, with a spinner and its counts so far.
    const running = screens.filter((s) => s.some((l) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] debian:/.test(l)));
    expect(running.length, shown).toBeGreaterThan(3);
    for (const screen of running) {
      for (const distro of ['debian:bookworm', 'debian:trixie']) {
        expect(live(screen, distro), screen.join('\n')).toHaveLength(1);
      }
    }
    // The elapsed time ticks on the same row: the line was redrawn in place, not printed again.
    const rowOf = (screen: readonly string[]) => screen.findIndex((l) => / debian:bookworm /.test(l));
    const times = new Set(running.map((s) => s[rowOf(s)]?.match(/(\d+\.\d)s/)?.[1]));
    expect(times.size, shown).toBeGreaterThan(1);
    expect(new Set(running.map(rowOf)).size, shown).toBe(1);
    // At the end: ✔ on both lines, then the table, each cell readable on its own.
    expect(live(last, 'debian:bookworm')[0]).toMatch(
      /^✔ debian:bookworm +\d+\.\ds {2}5 passed, 0 failed, 1 skipped$/,
    );
    expect(live(last, 'debian:trixie')[0]).toMatch(
      /^✔ debian:trixie +\d+\.\ds {2}5 passed, 0 failed, 1 skipped$/,
    );
    expect(shown).toMatch(/^DISTRIBUTION +PASSED +FAILED +SKIPPED +DURATION +RESULT$/m);
    expect(shown).toMatch(/^debian:bookworm +5 +0 +1 +\d+\.\ds +✔ passed$/m);
    expect(shown).toMatch(/^debian:trixie +5 +0 +1 +\d+\.\ds +✔ passed$/m);
  });
});

describe('cspec test --node', () => {
  it('runs the suite with the Node release it was asked for', async () => {
    const result = await finish(
      start(
        [
          'test',
          '--distro',
          'debian:bookworm',
          '--node',
          '22',
          '--junit',
          join(reports, 'node/junit.xml'),
          '-e',
          'EXPECTED_NODE_MAJOR=22',
          '--',
          '-t',
          'Node',
        ],
        EXAMPLE,
      ),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^debian:bookworm\s+1\s+0\s+\d+\s+\S+\s+✔ passed$/m);
  });

  it('refuses a version that is not one', async () => {
    const result = await finish(start(['test', '--distro', 'debian:bookworm', '--node', 'lts'], EXAMPLE));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: invalid --node "lts" — use a major version such as 22/m);
  });
});

describe('cspec test refuses bad input and leaves nothing', () => {
  it('an unknown distribution', async () => {
    const result = await finish(
      start(['test', '--distro', 'debian:sid', '--junit', join(reports, 'x/j.xml')], EXAMPLE),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: unknown distribution "debian:sid" — cspec test runs on debian:bullseye/m,
    );
  });

  it('a project without Vitest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cspec-no-vitest-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{"name":"p"}');
      const result = await finish(start(['test', '--distro', 'debian:bookworm'], dir));
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /^error: Vitest is not installed in .* — install it: npm install -D vitest/m,
      );
      expect(readdirSync(dir)).toEqual(['package.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an interrupted cspec test', () => {
  async function runUntilRunning(): Promise<ChildProcess> {
    const child = start(
      [
        'test',
        '--distro',
        DISTROS,
        '--parallel',
        '3',
        '--junit',
        join(reports, 'slow/j.xml'),
        '-e',
        'CSPEC_FIXTURE_SLEEP_MS=120000',
      ],
      SLOW,
    );
    child.stdout?.resume();
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d) => {
        seen += d;
        if ((seen.match(/: running$/gm) ?? []).length === 3) resolve();
      });
      child.on('close', () => reject(new Error(`cspec test ended before running:\n${seen}`)));
    });
    expect(seen).toMatch(/\[cspec\] cache \(cspec\/redis:7\) ready in/);
    // Vitest is up in all three.
    await new Promise((r) => setTimeout(r, 1500));
    return child;
  }

  it.each([
    'SIGINT',
    'SIGKILL',
  ] as const)('by %s leaves no container (nor the service), mount, cgroup or netns within 5 s', async (signal) => {
    const child = await runUntilRunning();
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.kill(signal);
    const code = await closed;
    if (signal === 'SIGINT') expect(code).toBe(130);
    expect(await waitForNoLeaks(5000)).toBeUndefined();
  });
});
