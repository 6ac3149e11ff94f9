/** Runs Vitest on a fixture project under fixtures/vitest/, as a user would from that directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

export function fixtureDir(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/vitest/${name}/`, import.meta.url));
}

export interface VitestRun {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
}

export function runVitest(
  fixture: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): VitestRun {
  return startVitest(fixtureDir(fixture), ['run', ...args], env);
}

/**
 * `vitest watch` in `dir`, on a pseudo-terminal (Vitest reads its keyboard
 * shortcuts, `q` among them, only from a terminal): `child` is `script`,
 * writing to its stdin is typing; the output has the terminal's line ends.
 */
export function watchVitest(dir: string, env: Readonly<Record<string, string>> = {}): VitestRun {
  const command = ['exec', process.execPath, VITEST, 'watch'].map((a) => `'${a}'`).join(' ');
  return startVitest(dir, [], env, ['script', ['-qfec', command, '/dev/null']]);
}

function startVitest(
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  [file, fileArgs]: [string, string[]] = [process.execPath, [VITEST, ...args]],
): VitestRun {
  const child = spawn(file, fileArgs, {
    cwd,
    env: { ...outsideVitest(), ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true' },
    stdio: [file === process.execPath ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>(
    (resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, output }));
    },
  );
  return { child, done, output: () => output };
}

/** The pids of `pid`'s children (from /proc). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** This process's environment without what the Vitest running this test set. */
export function outsideVitest(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST' && k !== 'NODE_ENV'),
  );
}

/**
 * What a test of killed Vitest runs must end afterwards, whatever happened:
 * runs still going (their script's children first), worker processes that
 * outlived them (found by the marker file only their run was given) and
 * temporary directories. Call `cleanup` from `afterEach`.
 */
export function trackVitestRuns(): {
  readonly runs: VitestRun[];
  readonly workers: { pid: number; marker: string }[];
  readonly temps: string[];
  cleanup(): Promise<void>;
} {
  const runs: VitestRun[] = [];
  const workers: { pid: number; marker: string }[] = [];
  const temps: string[] = [];
  return {
    runs,
    workers,
    temps,
    async cleanup() {
      for (const run of runs.splice(0)) {
        const pid = run.child.pid;
        if (pid === undefined || run.child.exitCode !== null || run.child.signalCode !== null) continue;
        for (const child of childPids(pid)) process.kill(child, 'SIGKILL');
        run.child.kill('SIGKILL');
        await run.done;
      }
      for (const { pid, marker } of workers.splice(0)) {
        const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
        if (environ.includes(`CSPEC_FIXTURE_OUT=${marker}\0`)) process.kill(pid, 'SIGKILL');
      }
      for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value; past `ms`, throws with what Vitest printed. */
export async function until<T>(
  what: string,
  run: VitestRun,
  probe: () => Promise<T | undefined>,
  ms = 120_000,
  intervalMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; Vitest printed:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
