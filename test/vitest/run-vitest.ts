/** Runs Vitest on a fixture project under fixtures/vitest/, as a user would from that directory. */
import { type ChildProcess, spawn } from 'node:child_process';
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
  const child = spawn(process.execPath, [VITEST, 'run', ...args], {
    cwd: fixtureDir(fixture),
    env: { ...outsideVitest(), ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
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

/** This process's environment without the variables of the Vitest running this test. */
/** This process's environment without what the Vitest running this test set. */
export function outsideVitest(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST' && k !== 'NODE_ENV'),
  );
}
