/**
 * One run of the project's Vitest suite: inside a container from a
 * distribution's image (the project mounted copy-on-write, the host's Node
 * bind-mounted), or on the host. Progress comes from the reporter's JSON
 * lines, read while the run goes.
 */
import { spawn } from 'node:child_process';
import { open, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ContainerSpec, Engine } from '@cspec/runtime';
import type { Project } from './project.js';
import { addEvent, emptyTally, parseEvent, type Tally, takeLines } from './results.js';
import type { Target } from './targets.js';

/** Where the report directory, the reporter and Node appear inside a container. */
const IN_CONTAINER = {
  report: '/.cspec/report',
  reporter: '/.cspec/vitest-reporter',
  node: '/usr/local/bin/node',
} as const;

const POLL_MS = 200;
const LOG_TAIL_LINES = 20;

export interface SuitePlan {
  readonly project: Project;
  /** The reporter Vitest loads (see reporterSource). */
  readonly reporter: { readonly text: string; readonly ext: string };
  /** Holds the per-run JUnit files, Vitest's output and (while running) the progress files. */
  readonly reportDir: string;
  /** Arguments for `vitest run`, after cspec's own. */
  readonly vitestArgs: readonly string[];
  /** Given to the tests (`--env`). */
  readonly env: Readonly<Record<string, string>>;
  /** The Node binary run inside containers (a host path, mounted read-only). */
  readonly nodeBinary: string;
  /** The network of the services the CLI started, which every container joins. */
  readonly network: string | undefined;
}

export type Phase = 'queued' | 'preparing image' | 'starting' | 'running' | 'done';

export interface SuiteResult {
  readonly name: string;
  readonly passed: boolean;
  readonly tally: Tally;
  readonly durationMs: number;
  /** Vitest's exit code, if it ran to the end. */
  readonly exitCode: number | undefined;
  /** Why the run failed beyond its tests (could not start, Vitest failed without a failed test). */
  readonly error: string | undefined;
  /** Vitest's JUnit file, if it wrote one. */
  readonly junitFile: string;
  /** Vitest's own output (container runs). */
  readonly logFile: string | undefined;
}

export interface SuiteCallbacks {
  phase(phase: Phase): void;
  /** After each event that changed the tally. */
  progress(tally: Tally): void;
}

export function junitFileFor(reportDir: string, slug: string): string {
  return join(reportDir, `junit-${slug}.xml`);
}

function vitestRunArgs(reporter: string, junit: string, extra: readonly string[]): string[] {
  return [
    'run',
    '--reporter=default',
    `--reporter=${reporter}`,
    '--reporter=junit',
    `--outputFile.junit=${junit}`,
    ...extra,
  ];
}

/** Follows an append-only file of JSON lines until `stop()` drains it. */
function followProgress(path: string, onEvent: (line: string) => void) {
  let offset = 0;
  let rest = '';
  let reading: Promise<void> = Promise.resolve();
  const read = async () => {
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      for (;;) {
        const buffer = Buffer.alloc(64 * 1024);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const split = takeLines(rest + buffer.subarray(0, bytesRead).toString('utf8'));
        rest = split.rest;
        for (const line of split.lines) onEvent(line);
      }
    } finally {
      await handle.close();
    }
  };
  const timer = setInterval(() => {
    reading = reading.then(read, read);
  }, POLL_MS);
  let stopped: Promise<void> | undefined;
  return {
    /** Reads what is left, once; later calls wait for the same. */
    stop(): Promise<void> {
      stopped ??= (async () => {
        clearInterval(timer);
        await reading.catch(() => {});
        await read();
        if (rest) onEvent(rest);
      })();
      return stopped;
    },
  };
}

function describeFailure(exitCode: number | undefined, tally: Tally, logTail: string): string | undefined {
  if (exitCode === 0 && tally.failures.length === 0) return undefined;
  if (tally.failures.length > 0) return undefined;
  const tail = logTail.trim() ? `; its last lines:\n${logTail.trimEnd()}` : '';
  return exitCode === undefined
    ? `Vitest did not finish${tail}`
    : `Vitest exited with code ${exitCode} without a failed test${tail}`;
}

function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .slice(-n - 1)
    .join('\n');
}

/** Runs the suite in a container from `target.image`. Never throws for a failed run: the result says why. */
export async function runInContainer(
  engine: Engine,
  target: Target,
  plan: SuitePlan,
  callbacks: SuiteCallbacks,
  signal: AbortSignal,
): Promise<SuiteResult> {
  const started = Date.now();
  const tally = emptyTally();
  const progressName = `.progress-${target.slug}.jsonl`;
  const progressFile = join(plan.reportDir, progressName);
  const junitFile = junitFileFor(plan.reportDir, target.slug);
  const logFile = join(plan.reportDir, `vitest-${target.slug}.log`);
  await Promise.all([writeFile(progressFile, ''), rm(junitFile, { force: true })]);
  const follow = followProgress(progressFile, (line) => {
    const event = parseEvent(line);
    if (!event) return;
    addEvent(tally, event);
    callbacks.progress(tally);
  });
  const result = (exitCode: number | undefined, error: string | undefined): SuiteResult => ({
    name: target.name,
    passed: exitCode === 0 && error === undefined && tally.failures.length === 0,
    tally,
    durationMs: Date.now() - started,
    exitCode,
    error,
    junitFile,
    logFile,
  });
  try {
    callbacks.phase('preparing image');
    await engine.images.resolve(target.image, { signal });
    callbacks.phase('starting');
    const reporter = `${IN_CONTAINER.reporter}${plan.reporter.ext}`;
    const spec: ContainerSpec = {
      image: target.image,
      command: [
        IN_CONTAINER.node,
        plan.project.vitestBin,
        ...vitestRunArgs(reporter, `${IN_CONTAINER.report}/${basename(junitFile)}`, plan.vitestArgs),
      ],
      workingDir: plan.project.dir,
      env: {
        ...plan.env,
        CSPEC_PROGRESS_FILE: `${IN_CONTAINER.report}/${progressName}`,
        CSPEC_DISTRO: target.name,
      },
      mounts: [
        { type: 'overlay', source: plan.project.mountRoot, target: plan.project.mountRoot },
        { type: 'bind', source: plan.nodeBinary, target: IN_CONTAINER.node, readonly: true },
        { type: 'bind', source: plan.reportDir, target: IN_CONTAINER.report },
      ],
      files: [{ target: reporter, content: plan.reporter.text }],
      labels: { 'dev.cspec.test.distro': target.name },
      ...(plan.network ? { networks: [{ network: plan.network }] } : {}),
    };
    const container = await engine.run(spec, { signal });
    try {
      callbacks.phase('running');
      const onAbort = () => {
        container.kill('SIGKILL').catch(() => {});
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      let exit: Awaited<ReturnType<typeof container.wait>>;
      try {
        exit = await container.wait();
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      const log = await container.logText();
      await writeFile(logFile, log);
      await follow.stop();
      if (signal.aborted) return result(undefined, 'interrupted');
      return result(exit.exitCode, describeFailure(exit.exitCode, tally, lastLines(log, LOG_TAIL_LINES)));
    } finally {
      await container.remove();
    }
  } catch (error) {
    await follow.stop();
    if (signal.aborted) return result(undefined, 'interrupted');
    const hint = (error as { hint?: string }).hint;
    return result(undefined, `${(error as Error).message}${hint ? ` (${hint})` : ''}`);
  } finally {
    await follow.stop();
    await rm(progressFile, { force: true });
    callbacks.phase('done');
  }
}

/** Runs the suite on the host, its output on this terminal. */
export async function runOnHost(
  plan: SuitePlan,
  hostEnv: Readonly<Record<string, string | undefined>>,
  callbacks: SuiteCallbacks,
  signal: AbortSignal,
): Promise<SuiteResult> {
  const started = Date.now();
  const tally = emptyTally();
  const progressFile = join(plan.reportDir, '.progress-host.jsonl');
  const junitFile = junitFileFor(plan.reportDir, 'host');
  const reporterFile = join(plan.reportDir, `.vitest-reporter${plan.reporter.ext}`);
  await Promise.all([
    writeFile(progressFile, ''),
    writeFile(reporterFile, plan.reporter.text),
    rm(junitFile, { force: true }),
  ]);
  const follow = followProgress(progressFile, (line) => {
    const event = parseEvent(line);
    if (!event) return;
    addEvent(tally, event);
    callbacks.progress(tally);
  });
  callbacks.phase('running');
  try {
    const exitCode = await new Promise<number | undefined>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [plan.project.vitestBin, ...vitestRunArgs(reporterFile, junitFile, plan.vitestArgs)],
        {
          cwd: plan.project.dir,
          stdio: ['ignore', 'inherit', 'inherit'],
          env: { ...hostEnv, ...plan.env, CSPEC_PROGRESS_FILE: progressFile },
        },
      );
      const onAbort = () => child.kill('SIGTERM');
      signal.addEventListener('abort', onAbort, { once: true });
      child.on('error', reject);
      child.on('close', (code) => {
        signal.removeEventListener('abort', onAbort);
        resolve(code ?? undefined);
      });
    });
    await follow.stop();
    const error = signal.aborted ? 'interrupted' : describeFailure(exitCode, tally, '');
    return {
      name: 'host',
      passed: exitCode === 0 && error === undefined && tally.failures.length === 0,
      tally,
      durationMs: Date.now() - started,
      exitCode,
      error,
      junitFile,
      logFile: undefined,
    };
  } finally {
    await follow.stop();
    await Promise.all([rm(progressFile, { force: true }), rm(reporterFile, { force: true })]);
    callbacks.phase('done');
  }
}
