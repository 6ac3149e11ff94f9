/**
 * `npm run bench`: runs the scenarios, prints a table and writes
 * bench/results/<date>-<machine>.json. Fails loudly if a scenario leaves
 * container resources behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname, release, totalmem } from 'node:os';
import { writeChart } from './chart.js';
import { imageBuild } from './image-build.js';
import { matrix } from './matrix.js';
import { memory } from './memory.js';
import { parallelPostgres } from './parallel-postgres.js';
import { perTestDatabase } from './per-test-database.js';
import { postgresReady } from './postgres-ready.js';
import { pull } from './pull.js';
import { rootfs } from './rootfs.js';
import { securityStart } from './security-start.js';
import { trivialStart } from './trivial-start.js';
import { wholeSuite } from './whole-suite.js';

function leftovers(): string[] {
  const found: string[] = [];
  const list = (p: string) => (existsSync(p) ? readdirSync(p) : []);
  if (list('/run/cspec/containers').length)
    found.push(`containers: ${list('/run/cspec/containers').join(' ')}`);
  if (list('/run/netns').length) found.push(`netns: ${list('/run/netns').join(' ')}`);
  if (list('/run/runc').length) found.push(`runc state: ${list('/run/runc').join(' ')}`);
  const overlays = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(' - overlay '));
  if (overlays.length) found.push(`overlay mounts: ${overlays.length}`);
  for (const h of list('/sys/fs/cgroup')) {
    for (const c of list(`/sys/fs/cgroup/${h}`)) if (c.includes('cspec')) found.push(`cgroup ${h}/${c}`);
  }
  return found;
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);

const machine = {
  hostname: hostname(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  runc: execFileSync('runc', ['--version'], { encoding: 'utf8' }).split('\n')[0],
};

const log = (line: string) => process.stderr.write(`${line}\n`);
const pad = (s: string, n: number) => s.padEnd(n);
const table = (
  title: string,
  results: Record<string, { medianMs: number; p90Ms: number; minMs: number; maxMs: number }>,
) => {
  process.stdout.write(`\n${title}\n${pad('path', 44)}${pad('median', 11)}${pad('p90', 11)}min–max\n`);
  for (const [name, s] of Object.entries(results)) {
    process.stdout.write(
      `${pad(name, 44)}${pad(`${s.medianMs} ms`, 11)}${pad(`${s.p90Ms} ms`, 11)}${s.minMs}–${s.maxMs} ms\n`,
    );
  }
};
const checkLeftovers = (scenario: string) => {
  const left = leftovers();
  if (left.length) {
    process.stderr.write(`bench: resources left behind after ${scenario}:\n  ${left.join('\n  ')}\n`);
    process.exit(1);
  }
};

// BENCH_ONLY=name[,name] runs a subset (trivial-start, security-start, postgres-ready, per-test-database,
// parallel-postgres, matrix, whole-suite, memory, rootfs, pull, image-build).
const only = process.env.BENCH_ONLY?.split(',');
const wanted = (name: string) => !only || only.includes(name);
const scenarios = [];
/** Wall time of each scenario, setup included, and of the whole run: the run has a budget (README). */
const benchStart = performance.now();
let lapStart = benchStart;
const durationsS: Record<string, number> = {};
const lap = (scenario: string) => {
  const now = performance.now();
  durationsS[scenario] = Math.round((now - lapStart) / 100) / 10;
  lapStart = now;
};
if (wanted('trivial-start')) {
  const trivial = await trivialStart({ rounds, warmup, log });
  scenarios.push(trivial);
  lap(trivial.scenario);
  checkLeftovers('trivial-start');
  table(
    `trivial container, start to exit (${rounds} rounds after ${warmup} warm-up, interleaved)`,
    trivial.results,
  );
  process.stdout.write(
    `cspec / docker run: library ${trivial.ratios.libraryToDocker}, cli ${trivial.ratios.cliToDocker} (goal ≤ 0.15); docker ${trivial.docker}\n`,
  );
  process.stdout.write(
    `library − runc: ${trivial.deltasMs.libraryMinusRunc} ms (goal ≤ 15); cli − runc: ${trivial.deltasMs.cliMinusRunc} ms (goal ≤ 80)\n`,
  );
  process.stdout.write(
    `rootless / root: library ${trivial.ratios.rootlessLibraryToRoot}, cli ${trivial.ratios.rootlessCliToRoot} (goal ≤ 1.3); rootless library / docker run: ${trivial.ratios.rootlessLibraryToDocker} (goal ≤ 0.2)\n`,
  );
}

if (wanted('security-start')) {
  const securityRounds = Number(process.env.BENCH_SECURITY_ROUNDS ?? 60);
  const security = await securityStart({ rounds: securityRounds, warmup: 5, log });
  scenarios.push(security);
  lap(security.scenario);
  checkLeftovers('security-start');
  table(
    `trivial container with and without the default seccomp profile (${securityRounds} rounds after 5 warm-up, interleaved)`,
    security.results,
  );
  process.stdout.write(
    `added by the profile: library ${security.addedMs.library.ofMedians} ms (medians; ${security.addedMs.library.medianOfPairs} ms median of round pairs), runc ${security.addedMs.runc.ofMedians} ms (${security.addedMs.runc.medianOfPairs}) (goal ≤ ${security.goalMs}); making it: ${security.generateUs} µs\n`,
  );
}

if (wanted('postgres-ready')) {
  const pgRounds = Number(process.env.BENCH_PG_ROUNDS ?? 10);
  const postgres = await postgresReady({ rounds: pgRounds, warmup: 2, log });
  scenarios.push(postgres);
  lap(postgres.scenario);
  checkLeftovers('postgres-ready');
  table(
    `one Postgres, start to first query (${pgRounds} rounds after 2 warm-up, interleaved)`,
    postgres.results,
  );
  process.stdout.write(
    `cspec / testcontainers: ${postgres.ratios.toTestcontainers} (goal ≤ 0.1); cspec / docker run: ${postgres.ratios.toDockerRun}\n`,
  );
  process.stdout.write(
    `rootless / root: ${postgres.ratios.rootlessToRoot} (goal ≤ 1.3); rootless / testcontainers: ${postgres.ratios.rootlessToTestcontainers} (goal ≤ 0.2)\n`,
  );
}

if (wanted('per-test-database')) {
  const dbRounds = Number(process.env.BENCH_DB_ROUNDS ?? 30);
  const perTest = await perTestDatabase({ rounds: dbRounds, log });
  scenarios.push(perTest);
  lap(perTest.scenario);
  checkLeftovers('per-test-database');
  table(
    `a fresh migrated database for a test, ${perTest.tables}-table schema (${dbRounds} rounds, interleaved)`,
    perTest.results,
  );
  process.stdout.write(
    `from the pool / a new testcontainers container per test: ${perTest.ratios.poolToTestcontainersContainer} (goal ≤ 0.05); a clone: ${perTest.ratios.cloneToTestcontainersContainer}\n`,
  );
}

if (wanted('parallel-postgres')) {
  const pgRounds = Number(process.env.BENCH_PG8_ROUNDS ?? 5);
  const many = await parallelPostgres({ rounds: pgRounds, warmup: 1, log });
  scenarios.push(many);
  lap(many.scenario);
  checkLeftovers('parallel-postgres');
  table(
    `${many.count} Postgres at once, until every one answered (${pgRounds} rounds after 1 warm-up)`,
    many.results,
  );
  process.stdout.write(
    `cspec / testcontainers: all ${many.count} ${many.ratios.wall}, p90 of each ${many.ratios.perContainerP90} (goal ≤ 0.15)\n`,
  );
}

if (wanted('matrix')) {
  const matrixRounds = Number(process.env.BENCH_MATRIX_ROUNDS ?? 3);
  const m = await matrix({ rounds: matrixRounds, warmup: 1, log });
  scenarios.push(m);
  lap(m.scenario);
  checkLeftovers('matrix');
  table(
    `cspec test on examples/matrix-distros (${matrixRounds} rounds after 1 warm-up, interleaved)`,
    m.results,
  );
  process.stdout.write(
    `three at once / slowest single release: ${m.ratios.parallel3ToSlowestSingle} with --parallel 3, ${m.ratios.defaultToSlowestSingle} by default (goal ≤ 1.5); / in sequence: ${m.ratios.parallel3ToSequence}\n`,
  );
}

if (wanted('whole-suite')) {
  const suiteRounds = Number(process.env.BENCH_SUITE_ROUNDS ?? 4);
  const suite = await wholeSuite({ rounds: suiteRounds, warmup: 1, log });
  scenarios.push(suite);
  lap(suite.scenario);
  checkLeftovers('whole-suite');
  table(
    `examples/postgres-per-test, ${suite.tests} tests, whole vitest run (${suiteRounds} rounds after 1 warm-up, interleaved)`,
    suite.results,
  );
  process.stdout.write(`cspec / testcontainers: ${suite.ratio}\n`);
}

if (wanted('memory')) {
  const mem = await memory({ log });
  scenarios.push(mem);
  lap(mem.scenario);
  checkLeftovers('memory');
  process.stdout.write(
    `\nmemory beside each running container (${mem.containers} detached, one port each): cspec ${mem.perContainerMiB.cspec} MiB, docker ${mem.perContainerMiB.docker} MiB (ratio ${mem.ratio})\n`,
  );
}

// Image store: preparing a cached image's root filesystem (rootfs), pulling from a local registry (pull).
if (wanted('rootfs')) {
  const r = await rootfs({ rounds, warmup, log });
  scenarios.push(r);
  lap(r.scenario);
  checkLeftovers('rootfs');
  table(
    `root filesystem of a cached image (${rounds} rounds after ${warmup} warm-up, interleaved)`,
    r.results,
  );
  process.stdout.write(
    `prepared root, 10 layers: ${r.preparedMs['10 layers']} ms, 1 layer: ${r.preparedMs['1 layer']} ms (goal ≤ ${r.goalMs}; process starts of the mount step taken off); steps ${JSON.stringify(r.stepsMs)}\n`,
  );
}
if (wanted('pull')) {
  const pullRounds = Number(process.env.BENCH_PULL_ROUNDS ?? 3);
  const p = await pull({ rounds: pullRounds, warmup: 1, log });
  scenarios.push(p);
  lap(p.scenario);
  checkLeftovers('pull');
  table(
    `pull ${p.image} (${Math.round(p.bytes / 1e6)} MB, ${p.layers} layers) from 127.0.0.1 (${pullRounds} rounds after 1 warm-up, interleaved)`,
    p.results,
  );
  process.stdout.write(
    `MB/s: cspec ${p.throughputMBps.cspec}, skopeo ${p.throughputMBps.skopeo}; cspec / skopeo time: ${p.ratio}, / skopeo + tar -x: ${p.ratioToSkopeoAndTar}; cspec download ${p.cspecPhasesMs.download} ms + unpack ${p.cspecPhasesMs.unpack} ms\n`,
  );
}
if (wanted('image-build')) {
  const buildRounds = Number(process.env.BENCH_BUILD_ROUNDS ?? 5);
  const built = await imageBuild({ rounds: buildRounds, log });
  scenarios.push(built);
  lap(built.scenario);
  checkLeftovers('image-build');
  table(
    `built-in images: cold build, warm rebuild with every step cached (${buildRounds} rounds)`,
    built.results,
  );
  process.stdout.write(
    `disk saved by sharing the cspec/debian layer: ${(built.sharedBytesSaved / 2 ** 20).toFixed(0)} MiB\n`,
  );
}

const totalS = Math.round((performance.now() - benchStart) / 100) / 10;
process.stdout.write(
  `\ntime per scenario (s): ${Object.entries(durationsS)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}; all: ${(totalS / 60).toFixed(1)} min\n`,
);
const date = new Date().toISOString().slice(0, 10);
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
const suffix = only ? `-${only.join('+')}` : '';
const file = new URL(`../results/${date}-${machine.hostname}${suffix}.json`, import.meta.url);
await writeFile(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), machine, rounds, warmup, totalS, durationsS, scenarios }, null, 2)}\n`,
);
process.stdout.write(`\nwritten: bench/results/${date}-${machine.hostname}${suffix}.json\n`);
process.stdout.write(`chart: ${writeChart()}\n`);
