/**
 * How a tree the runtime writes — a build step's staged files (COPY, ADD,
 * WORKDIR), files placed in a container before it starts — gets its owners. The
 * host's root chowns each entry at once. A user cannot give files to other
 * ids: its tree is written as the user, and the owners are set afterwards in
 * one `chown` batch as root of the user's namespace (a rootless engine's;
 * rootless/process-namespace.ts), where the image's ids are ids of the
 * user's subordinate range. Layer files seen on the host carry those host
 * ids; `fromLayer` turns them back into the image's.
 */
import { lchown } from 'node:fs/promises';
import type { IdMapping } from '../rootless/id-ranges.js';
import type { UserNamespace } from '../rootless/user-namespace.js';

export interface TreeOwners {
  /** Overlay mounts of layers need `userxattr` (a rootless store's layers). */
  readonly userxattr: boolean;
  /**
   * Gives `path` (a link itself, not what it points at; written by this
   * process) the owner `uid:gid`, ids as the image sees them.
   */
  set(path: string, owner: { readonly uid: number; readonly gid: number }): Promise<void>;
  /** The image's ids of a layer file's owner, from its host stats. */
  fromLayer(stats: { readonly uid: number; readonly gid: number }): { uid: number; gid: number };
  /** The command line that runs `argv` as root over the tree (in the user namespace for a user). */
  command(argv: readonly string[]): [string, ...string[]];
  /** Sets the owners still pending; a no-op for root. */
  flush(): Promise<void>;
}

/** The id inside the namespace of a host id (the reverse of its map); the overflow id 65534 when unmapped. */
export function insideIdOf(maps: readonly IdMapping[], host: number): number {
  const m = maps.find((x) => host >= x.outside && host < x.outside + x.count);
  return m === undefined ? 65534 : m.inside + (host - m.outside);
}

const ROOT: TreeOwners = {
  userxattr: false,
  set: (path, owner) => lchown(path, owner.uid, owner.gid),
  fromLayer: (stats) => ({ uid: stats.uid, gid: stats.gid }),
  command: ([file, ...args]) => [file!, ...args],
  flush: async () => {},
};

/** Paths per chown process: well below the kernel's argument limits. */
const BATCH = 2000;

export function userNamespaceOwners(ns: UserNamespace): TreeOwners {
  // Paths by owner (`uid:gid`): one chown per owner, most entries of a step share one.
  let pending = new Map<string, string[]>();
  return {
    userxattr: true,
    async set(path, owner) {
      // What the user writes belongs to root inside already.
      if (owner.uid === 0 && owner.gid === 0) return;
      const key = `${owner.uid}:${owner.gid}`;
      const paths = pending.get(key) ?? [];
      paths.push(path);
      pending.set(key, paths);
    },
    fromLayer: (stats) => ({ uid: insideIdOf(ns.uidMap, stats.uid), gid: insideIdOf(ns.gidMap, stats.gid) }),
    command: (argv) => ns.enterArgs(argv),
    async flush() {
      const all = pending;
      pending = new Map();
      for (const [owner, paths] of all) {
        for (let i = 0; i < paths.length; i += BATCH)
          await ns.run(['chown', '-h', owner, '--', ...paths.slice(i, i + BATCH)]);
      }
    },
  };
}

/** Root's owners for the host's root; the user namespace's for anyone else (a rootless engine). */
export async function createTreeOwners(): Promise<TreeOwners> {
  if (process.getuid?.() === 0) return ROOT;
  const { processUserNamespace } = await import('../rootless/process-namespace.js');
  return userNamespaceOwners(await processUserNamespace());
}
