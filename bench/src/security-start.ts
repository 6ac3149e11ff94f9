/**
 * Scenario: what the default security settings add to a trivial start
 * (`true` in cspec/debian:bookworm, start to exit and removal): the library
 * with Docker's default seccomp profile (the default) against the same with
 * `securityOpt: ['seccomp=unconfined']`, and bare `runc run` on bundles with
 * and without the profile, interleaved in one run. Needs no Docker.
 * Goal (issue #14): at most 2 ms added to the library's median.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { buildOciConfig } from '../../packages/runtime/dist/sandbox/oci-config.js';
import {
  defaultSeccompProfile,
  hostSeccompArch,
  kernelVersion,
} from '../../packages/runtime/dist/sandbox/seccomp-profile.js';
import { writeRuncBundle } from './runc-bundle.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const IMAGE = 'cspec/debian:bookworm';

export interface SecurityStartResult {
  readonly scenario: 'security-start';
  readonly image: string;
  readonly results: Record<string, Summary>;
  /** Default minus unconfined: the difference of the medians, and the median of the per-round differences. */
  readonly addedMs: {
    readonly library: { readonly ofMedians: number; readonly medianOfPairs: number };
    readonly runc: { readonly ofMedians: number; readonly medianOfPairs: number };
  };
  /** In-process cost of making the profile and serializing it into config.json, per container (µs, median of 1000). */
  readonly generateUs: number;
  readonly goalMs: number;
}

const round = (x: number) => Math.round(x * 10) / 10;

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
}

function pairs(a: readonly number[], b: readonly number[]): number {
  return round(medianOf(a.map((x, i) => x - b[i]!)));
}

export async function securityStart(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<SecurityStartResult> {
  const engine = await createEngine();
  const image = await engine.images.resolve(IMAGE);
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-security-'));
  const host = { arch: hostSeccompArch(process.arch), kernel: kernelVersion(release()) };
  let n = 0;
  const bundle = (filtered: boolean) =>
    writeRuncBundle(
      join(work, `b${n++}`),
      image.layerDirs,
      `/cspec-bench-security-${n}`,
      filtered ? { profile: defaultSeccompProfile(), ...host } : undefined,
    );
  // Bundles for bare runc are prepared outside the timed section.
  const total = options.rounds + options.warmup;
  const filteredBundles: string[] = [];
  const plainBundles: string[] = [];
  for (let i = 0; i < total; i++) {
    filteredBundles.push(await bundle(true));
    plainBundles.push(await bundle(false));
  }
  const runc = (bundles: string[]) => {
    let next = 0;
    return async () => {
      const dir = bundles[next++]!;
      await run('runc', ['run', '--bundle', dir, `cspec-bench-security-${dir.split('/').pop()}`]);
    };
  };
  const library = (securityOpt: string[]) => async () => {
    const c = await engine.run({ image: IMAGE, command: ['true'], securityOpt });
    await c.wait();
    await c.remove();
  };
  // The JavaScript side alone: resolving the profile for a container and writing it into the config.
  const times: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const start = performance.now();
    JSON.stringify(
      buildOciConfig({
        process: { args: ['true'], env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [] },
        hostname: 'x',
        rootPath: '/r',
        lowerDirs: ['/l'],
        upperDir: '/u',
        workDir: '/w',
        mounts: [],
        etcFiles: { hosts: '/h', hostname: '/n', resolvConf: '/c' },
        netnsPath: undefined,
        cgroupsPath: '/x',
        resources: undefined,
        swapLimitSupported: false,
        labels: {},
        openFilesLimit: 1024,
        seccomp: { profile: defaultSeccompProfile(), ...host },
      }),
    );
    times.push(performance.now() - start);
  }
  try {
    options.log(`security-start: ${options.rounds} rounds after ${options.warmup} warm-up`);
    const samples = await interleave(
      {
        'library, default seccomp profile': library([]),
        'library, seccomp=unconfined': library(['seccomp=unconfined']),
        'runc, default seccomp profile': runc(filteredBundles),
        'runc, no seccomp': runc(plainBundles),
      },
      options,
    );
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const added = (a: string, b: string) => ({
      ofMedians: round(results[a]!.medianMs - results[b]!.medianMs),
      medianOfPairs: pairs(samples[a]!, samples[b]!),
    });
    return {
      scenario: 'security-start',
      image: IMAGE,
      results,
      addedMs: {
        library: added('library, default seccomp profile', 'library, seccomp=unconfined'),
        runc: added('runc, default seccomp profile', 'runc, no seccomp'),
      },
      generateUs: Math.round(medianOf(times) * 1000),
      goalMs: 2,
    };
  } finally {
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}
