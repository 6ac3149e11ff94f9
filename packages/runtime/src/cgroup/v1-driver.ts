import { killAndRemoveCgroupDir, listDirNames, readTextIfExists } from './cgroup-fs.js';
import {
  CGROUP_PREFIX,
  type CgroupDriver,
  type CgroupMode,
  cgroupName,
  parseOomKillCount,
} from './driver.js';

/**
 * cgroup v1 (and hybrid: v1 controllers plus an empty v2 tree). runc creates
 * `<hierarchy>/cspec-<id>` in every mounted hierarchy.
 */
export function createV1Driver(options: {
  readonly root: string;
  readonly hierarchies: readonly string[];
  readonly mode: Extract<CgroupMode, 'v1' | 'hybrid'>;
  /** The v2 tree of a hybrid host, where runc also creates the cgroup. */
  readonly unified?: string;
  /** The subtree containers' cgroups go in (`/user` delegated to a rootless user); default the root. */
  readonly base?: string;
}): CgroupDriver {
  const { root, hierarchies, mode, unified } = options;
  const base = options.base ?? '';
  const dirs = (id: string) => {
    const all = hierarchies.map((h) => `${root}/${h}${base}/${cgroupName(id)}`);
    if (unified && !base) all.push(`${unified}/${cgroupName(id)}`);
    return all;
  };
  return {
    mode,
    limits: true,
    pathFor: (id) => `${base}/${cgroupName(id)}`,
    async oomKillCount(id) {
      return parseOomKillCount(
        (await readTextIfExists(`${root}/memory${base}/${cgroupName(id)}/memory.oom_control`)) ?? '',
      );
    },
    async list() {
      const ids = new Set<string>();
      for (const h of hierarchies) {
        for (const name of await listDirNames(`${root}/${h}${base}`)) {
          if (name.startsWith(CGROUP_PREFIX)) ids.add(name.slice(CGROUP_PREFIX.length));
        }
      }
      return [...ids];
    },
    async remove(id) {
      // Freeze-free best effort: kill via every hierarchy's procs, then rmdir each.
      await Promise.all(dirs(id).map((dir) => killAndRemoveCgroupDir(dir)));
    },
  };
}
