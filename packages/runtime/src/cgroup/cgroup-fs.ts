import { existsSync } from 'node:fs';
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Small helpers shared by the v1 and v2 drivers. */

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function listDirNames(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

function killPids(text: string | undefined): number {
  let n = 0;
  for (const line of (text ?? '').split('\n')) {
    const pid = Number(line);
    if (!pid) continue;
    n++;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return n;
}

/**
 * Kills what is left in a cgroup directory (and its children) and removes it.
 * Retries rmdir briefly: the kernel frees a cgroup a moment after its last task exits.
 */
export async function killAndRemoveCgroupDir(dir: string, procsFile = 'cgroup.procs'): Promise<void> {
  // The usual case after a clean exit (the runtime removed it): one stat instead of three calls per hierarchy.
  if (!existsSync(dir)) return;
  for (const child of await listDirNames(dir)) await killAndRemoveCgroupDir(`${dir}/${child}`, procsFile);
  for (let attempt = 0; attempt < 50; attempt++) {
    killPids(await readTextIfExists(`${dir}/${procsFile}`));
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw error;
    }
    await sleep(20);
  }
  throw new Error(`cgroup ${dir} is still busy after killing its processes`);
}
