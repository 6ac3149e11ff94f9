/**
 * Scenario: memory that stays on the host for each running container, beside
 * the container's own processes. Four detached containers, each with one
 * published port, started by `cspec run -d` and by `docker run -d` (the same
 * image on both sides); counted are the processes that appeared in the
 * host's PID namespace (cspec: the `runc run` that waits for each container
 * and its `sh`, and the one port hub for all of them; Docker: containerd-shim
 * and docker-proxy), by resident set size (VmRSS).
 * Docker's long-running daemons (dockerd, containerd) were there before and
 * are not counted, nor is their growth.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { ensureDocker, saveIntoDocker } from './docker.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const IMAGE = 'cspec/debian:bookworm';
const COUNT = 4;

interface Proc {
  readonly pid: number;
  readonly name: string;
  readonly cmdline: string;
  readonly rssKiB: number;
}

/** What each side runs beside its containers (other processes of a busy machine are not counted). */
const CSPEC_PROCESS = /\/run\/cspec|port-hub-main|\bcspec$/;
const DOCKER_PROCESS = /containerd-shim|docker-proxy/;

/** Processes in this PID namespace (not inside containers) with their RSS. */
function hostProcesses(): Map<number, Proc> {
  const hostNs = readlinkSync('/proc/self/ns/pid');
  const found = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== hostNs) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
      const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (rssKiB > 0) found.set(Number(entry), { pid: Number(entry), name, cmdline, rssKiB });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function added(before: Map<number, Proc>, which: RegExp): Proc[] {
  return [...hostProcesses().values()].filter((p) => !before.has(p.pid) && which.test(p.cmdline));
}

export interface MemoryResult {
  readonly scenario: 'memory';
  readonly containers: number;
  /** Per container, MiB of the processes each side keeps beside it. */
  readonly perContainerMiB: { readonly cspec: number; readonly docker: number };
  /** What was counted: process name -> count, total MiB. */
  readonly processes: {
    readonly cspec: Record<string, { count: number; MiB: number }>;
    readonly docker: Record<string, { count: number; MiB: number }>;
  };
  readonly ratio: number;
}

function tally(procs: readonly Proc[]): Record<string, { count: number; MiB: number }> {
  const out: Record<string, { count: number; MiB: number }> = {};
  for (const p of procs) {
    out[p.name] ??= { count: 0, MiB: 0 };
    const t = out[p.name]!;
    t.count++;
    t.MiB = Math.round((t.MiB + p.rssKiB / 1024) * 10) / 10;
  }
  return out;
}

const mib = (procs: readonly Proc[]) =>
  Math.round((procs.reduce((n, p) => n + p.rssKiB, 0) / 1024 / COUNT) * 10) / 10;

export async function memory(options: { log: (line: string) => void }): Promise<MemoryResult> {
  const engine = await createEngine();
  await engine.images.resolve(IMAGE);
  const docker = await ensureDocker(options.log);
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-mem-'));
  const cspecIds: string[] = [];
  const dockerIds: string[] = [];
  try {
    await saveIntoDocker(engine, IMAGE, work);
    let before = hostProcesses();
    for (let i = 0; i < COUNT; i++) {
      const { stdout } = await run(process.execPath, [CLI, 'run', '-d', '-p', '8080', IMAGE, 'sleep', '600']);
      cspecIds.push(stdout.trim());
    }
    await sleep(1000);
    const cspecProcs = added(before, CSPEC_PROCESS);
    before = hostProcesses();
    for (let i = 0; i < COUNT; i++) {
      const { stdout } = await run('docker', ['run', '-d', '-p', '127.0.0.1::8080', IMAGE, 'sleep', '600']);
      dockerIds.push(stdout.trim());
    }
    await sleep(1000);
    const dockerProcs = added(before, DOCKER_PROCESS);
    const perContainerMiB = { cspec: mib(cspecProcs), docker: mib(dockerProcs) };
    options.log(
      `memory: cspec ${JSON.stringify(tally(cspecProcs))}, docker ${JSON.stringify(tally(dockerProcs))}`,
    );
    return {
      scenario: 'memory',
      containers: COUNT,
      perContainerMiB,
      processes: { cspec: tally(cspecProcs), docker: tally(dockerProcs) },
      ratio: Math.round((perContainerMiB.cspec / perContainerMiB.docker) * 1000) / 1000,
    };
  } finally {
    if (cspecIds.length) await run(process.execPath, [CLI, 'rm', '-f', ...cspecIds]).catch(() => {});
    if (dockerIds.length) await run('docker', ['rm', '-f', ...dockerIds]).catch(() => {});
    await run('docker', ['rmi', '-f', IMAGE]).catch(() => {});
    await docker.stop();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}
