/**
 * `npm run bench`: runs the scenarios, prints a table and writes
 * bench/results/<date>-<machine>.json. Fails loudly if a scenario leaves
 * container resources behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname, release, totalmem } from 'node:os';
import { trivialStart } from './trivial-start.js';

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

const scenarios = [];
const trivial = await trivialStart({ rounds, warmup, log: (line) => process.stderr.write(`${line}\n`) });
scenarios.push(trivial);
const left = leftovers();
if (left.length) {
  process.stderr.write(`bench: resources left behind after trivial-start:\n  ${left.join('\n  ')}\n`);
  process.exit(1);
}

const pad = (s: string, n: number) => s.padEnd(n);
process.stdout.write(
  `\ntrivial container, start to exit (${rounds} rounds after ${warmup} warm-up, interleaved)\n`,
);
process.stdout.write(`${pad('path', 12)}${pad('median', 10)}${pad('p90', 10)}min–max\n`);
for (const [name, s] of Object.entries(trivial.results)) {
  process.stdout.write(
    `${pad(name, 12)}${pad(`${s.medianMs} ms`, 10)}${pad(`${s.p90Ms} ms`, 10)}${s.minMs}–${s.maxMs} ms\n`,
  );
}
process.stdout.write(
  `cspec / docker run: library ${trivial.ratios.libraryToDocker}, cli ${trivial.ratios.cliToDocker} (goal ≤ 0.15); docker ${trivial.docker}\n`,
);
process.stdout.write(
  `library − runc: ${trivial.deltasMs.libraryMinusRunc} ms (goal ≤ 15); cli − runc: ${trivial.deltasMs.cliMinusRunc} ms (goal ≤ 80)\n`,
);

const date = new Date().toISOString().slice(0, 10);
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
const file = new URL(`../results/${date}-${machine.hostname}.json`, import.meta.url);
await writeFile(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), machine, rounds, warmup, scenarios }, null, 2)}\n`,
);
process.stdout.write(`\nwritten: bench/results/${date}-${machine.hostname}.json\n`);
