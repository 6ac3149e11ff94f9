/**
 * Scenario: a trivial container from start to exit (`true` in
 * cspec/debian:bookworm), through the library, through `cspec run --rm`, and
 * through bare `runc run` on an equivalent bundle, interleaved in one run.
 * `node -e 0` runs alongside as the floor under any Node CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { ensureDocker, importIntoDocker } from './docker.js';
import { openRootlessSide } from './rootless-side.js';
import { writeRuncBundle } from './runc-bundle.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const IMAGE = 'cspec/debian:bookworm';
const cli = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

export interface TrivialStartResult {
  readonly scenario: 'trivial-start';
  readonly image: string;
  readonly docker: string;
  readonly results: Record<string, Summary>;
  readonly deltasMs: { readonly libraryMinusRunc: number; readonly cliMinusRunc: number };
  /** cspec / docker run, and rootless / root, medians. */
  readonly ratios: {
    readonly libraryToDocker: number;
    readonly cliToDocker: number;
    readonly rootlessLibraryToRoot: number;
    readonly rootlessCliToRoot: number;
    readonly rootlessLibraryToDocker: number;
  };
}

const DOCKER_TAG = 'cspec-bench/debian:bookworm';

export async function trivialStart(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<TrivialStartResult> {
  const engine = await createEngine();
  const image = await engine.images.resolve(IMAGE);
  if (image.layerDirs.length !== 1) throw new Error(`${IMAGE} was expected to have one layer`);
  const docker = await ensureDocker(options.log);
  // Both sides start the same root filesystem.
  await importIntoDocker(image.layerDirs[0]!, DOCKER_TAG);
  // The same start by an ordinary user's engine (issue #15), in a worker running as that user.
  const rootless = await openRootlessSide([IMAGE], options.log);
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-'));
  let n = 0;
  const runcBundle = () => writeRuncBundle(join(work, `b${n++}`), image.layerDirs, `/cspec-bench-${n}`);
  // Bundles for bare runc are prepared outside the timed section.
  const bundles: string[] = [];
  for (let i = 0; i < options.rounds + options.warmup; i++) bundles.push(await runcBundle());
  let next = 0;
  try {
    const samples = await interleave(
      {
        library: async () => {
          const c = await engine.run({ image: IMAGE, command: ['true'] });
          await c.wait();
          await c.remove();
        },
        cli: async () => {
          await run(process.execPath, [cli, 'run', '--rm', IMAGE, 'true']);
        },
        'library, rootless': () => rootless.measure({ op: 'trivial', image: IMAGE }),
        'cli, rootless': () => rootless.measure({ op: 'cli', image: IMAGE }),
        // Not a container: how long Node itself takes to start and exit, for reading the CLI figure.
        'node -e 0': async () => {
          await run(process.execPath, ['-e', '0']);
        },
        'docker run': async () => {
          await run('docker', ['run', '--rm', DOCKER_TAG, 'true']);
        },
        runc: async () => {
          const bundle = bundles[next++]!;
          await run('runc', ['run', '--bundle', bundle, `cspec-bench-${next}`]);
        },
      },
      options,
    );
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const round = (x: number) => Math.round(x * 10) / 10;
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    return {
      scenario: 'trivial-start',
      image: IMAGE,
      docker: docker.serverVersion,
      results,
      ratios: {
        libraryToDocker: ratio(results.library!.medianMs, results['docker run']!.medianMs),
        cliToDocker: ratio(results.cli!.medianMs, results['docker run']!.medianMs),
        rootlessLibraryToRoot: ratio(results['library, rootless']!.medianMs, results.library!.medianMs),
        rootlessCliToRoot: ratio(results['cli, rootless']!.medianMs, results.cli!.medianMs),
        rootlessLibraryToDocker: ratio(
          results['library, rootless']!.medianMs,
          results['docker run']!.medianMs,
        ),
      },
      deltasMs: {
        libraryMinusRunc: round(results.library!.medianMs - results.runc!.medianMs),
        cliMinusRunc: round(results.cli!.medianMs - results.runc!.medianMs),
      },
    };
  } finally {
    await run('docker', ['rmi', DOCKER_TAG]).catch(() => {});
    await docker.stop();
    await rootless.close();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}
