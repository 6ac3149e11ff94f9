import { writeFile } from 'node:fs/promises';
import { killAndRemoveCgroupDir, listDirNames, readTextIfExists } from './cgroup-fs.js';
import { CGROUP_PREFIX, type CgroupDriver, cgroupName, parseOomKillCount } from './driver.js';

/** cgroup v2 (unified): one tree; `cgroup.kill` (Linux 5.14+) ends a whole subtree at once. */
export function createV2Driver(options: {
  readonly root: string;
  /** The subtree containers' cgroups go in (one delegated to a rootless user); default the root. */
  readonly base?: string;
}): CgroupDriver {
  const base = options.base ?? '';
  const root = `${options.root}${base}`;
  const dir = (id: string) => `${root}/${cgroupName(id)}`;
  return {
    mode: 'v2',
    limits: true,
    pathFor: (id) => `${base}/${cgroupName(id)}`,
    async oomKillCount(id) {
      return parseOomKillCount((await readTextIfExists(`${dir(id)}/memory.events`)) ?? '');
    },
    async list() {
      return (await listDirNames(root))
        .filter((n) => n.startsWith(CGROUP_PREFIX))
        .map((n) => n.slice(CGROUP_PREFIX.length));
    },
    async remove(id) {
      try {
        await writeFile(`${dir(id)}/cgroup.kill`, '1');
      } catch {
        // gone already, or a kernel before 5.14: killAndRemoveCgroupDir kills pid by pid
      }
      await killAndRemoveCgroupDir(dir(id));
    },
  };
}
