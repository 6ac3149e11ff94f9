/**
 * Conformance suite for cgroup drivers, on the real kernel. Cgroups are made
 * the way the OCI runtime makes them (mkdir in each hierarchy, limits written
 * to control files, a process moved in through cgroup.procs); the driver must
 * then report and remove them. On this machine the hybrid (v1) driver runs;
 * on a cgroup v2 host the same suite runs against the v2 driver.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../packages/runtime/src/cgroup/detect.js';
import { type CgroupDriver, cgroupName } from '../../packages/runtime/src/cgroup/driver.js';

const driver: CgroupDriver = detectCgroupDriver();

/** The directories an OCI runtime would create for a container's cgroup. */
function cgroupDirs(id: string): string[] {
  if (driver.mode === 'v2') return [`/sys/fs/cgroup/${cgroupName(id)}`];
  return ['memory', 'pids', 'cpu', 'freezer'].map((h) => `/sys/fs/cgroup/${h}/${cgroupName(id)}`);
}

function makeCgroup(id: string, memoryBytes?: number): string[] {
  const dirs = cgroupDirs(id);
  for (const d of dirs) mkdirSync(d);
  if (memoryBytes !== undefined) {
    if (driver.mode === 'v2') {
      writeFileSync(`${dirs[0]}/memory.max`, String(memoryBytes));
      writeFileSync(`${dirs[0]}/memory.swap.max`, '0');
    } else {
      writeFileSync(`/sys/fs/cgroup/memory/${cgroupName(id)}/memory.limit_in_bytes`, String(memoryBytes));
    }
  }
  return dirs;
}

/** Runs `script` in a shell that first moves itself into every cgroup dir. */
function runInCgroup(dirs: string[], script: string) {
  const join = dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  return spawn('sh', ['-c', `${join} && ${script}`], { stdio: 'ignore' });
}

const created: string[] = [];
function newId(): string {
  const id = `conformance${randomBytes(6).toString('hex')}`;
  created.push(id);
  return id;
}

afterEach(async () => {
  for (const id of created.splice(0)) await driver.remove(id);
});

describe(`cgroup driver (${driver.mode})`, () => {
  it('lists cgroups it owns by container id', async () => {
    const id = newId();
    makeCgroup(id);
    expect(await driver.list()).toContain(id);
  });

  it('counts OOM kills', async () => {
    const id = newId();
    const dirs = makeCgroup(id, 32 * 1024 * 1024);
    expect(await driver.oomKillCount(id)).toBe(0);
    const child = runInCgroup(dirs, 'head -c 200m /dev/zero | tail -n 1 >/dev/null');
    await new Promise((r) => child.once('exit', r));
    expect(await driver.oomKillCount(id)).toBeGreaterThanOrEqual(1);
  });

  it('kills what is left and removes the cgroup everywhere, idempotently', async () => {
    const id = newId();
    const dirs = makeCgroup(id);
    const child = runInCgroup(dirs, 'sleep 300 & sleep 300 & wait');
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise((r) => child.once('exit', r));
    await driver.remove(id);
    await exited;
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    expect(await driver.list()).not.toContain(id);
    await driver.remove(id);
  });

  it('gives the OCI runtime a cgroups path named after the container', () => {
    expect(driver.pathFor('abc')).toBe('/cspec-abc');
  });
});
