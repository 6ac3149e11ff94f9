import { mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { readJsonIfExists, writeFileExclusive, writeJsonAtomic } from '../util/atomic-file.js';
import { withFileLock } from '../util/file-lock.js';

export interface NetworkRecord {
  readonly name: string;
  readonly bridge: string;
  /** CIDR, e.g. `10.89.3.0/24`. */
  readonly subnet: string;
  readonly gateway: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string;
  /** Set for ephemeral networks: removed when this session ends. */
  readonly sessionId?: string;
}

/** One container on one network; carries what any member needs to render this container's hosts file. */
export interface MemberRecord {
  readonly containerId: string;
  readonly name: string;
  readonly hostname: string;
  readonly aliases: readonly string[];
  /** Address in this network. */
  readonly ipAddress: string;
  /** The container's own address (its first network's). */
  readonly primaryIp: string;
  readonly hostsFile: string;
  /** Every network the container is on, in order. */
  readonly networks: readonly string[];
}

export interface NetworkStore {
  readonly dir: string;
  read(name: string): Promise<NetworkRecord | undefined>;
  list(): Promise<NetworkRecord[]>;
  /** Creates the record unless the name is taken; returns false if it is. */
  createExclusive(record: NetworkRecord): Promise<boolean>;
  delete(name: string): Promise<void>;
  members(name: string): Promise<MemberRecord[]>;
  member(name: string, containerId: string): Promise<MemberRecord | undefined>;
  addMember(name: string, member: MemberRecord): Promise<void>;
  removeMember(name: string, containerId: string): Promise<void>;
  /** Runs `fn` holding the network's short lock. */
  locked<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export function networksDir(config: RuntimeConfig): string {
  return join(config.runDir, 'networks');
}

/** Where the member records of network `name` are. */
export function networkMembersDir(config: RuntimeConfig, name: string): string {
  return join(networksDir(config), `${name}.members`);
}

export function createNetworkStore(config: RuntimeConfig): NetworkStore {
  const dir = networksDir(config);
  const recordPath = (name: string) => join(dir, `${name}.json`);
  const membersDir = (name: string) => networkMembersDir(config, name);

  const readRecord = async (path: string): Promise<NetworkRecord | undefined> => {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as NetworkRecord;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || error instanceof SyntaxError) return undefined;
      throw error;
    }
  };

  const store: NetworkStore = {
    dir,
    read: (name) => readRecord(recordPath(name)),
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const records = await Promise.all(
        names.filter((n) => n.endsWith('.json')).map((n) => readRecord(join(dir, n))),
      );
      return records
        .filter((r): r is NetworkRecord => r !== undefined)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    async createExclusive(record) {
      await mkdir(dir, { recursive: true });
      return writeFileExclusive(recordPath(record.name), `${JSON.stringify(record, null, 2)}\n`);
    },
    async delete(name) {
      await rm(membersDir(name), { recursive: true, force: true });
      await rm(recordPath(name), { force: true });
    },
    async members(name) {
      let files: string[];
      try {
        files = await readdir(membersDir(name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const members = await Promise.all(
        files
          .filter((f) => f.endsWith('.json'))
          .map((f) => readJsonIfExists<MemberRecord>(join(membersDir(name), f)).catch(() => undefined)),
      );
      return members.filter((m): m is MemberRecord => m !== undefined);
    },
    member: (name, containerId) =>
      readJsonIfExists<MemberRecord>(join(membersDir(name), `${containerId}.json`)).catch(() => undefined),
    async addMember(name, member) {
      await mkdir(membersDir(name), { recursive: true });
      await writeJsonAtomic(join(membersDir(name), `${member.containerId}.json`), member);
    },
    async removeMember(name, containerId) {
      await unlink(join(membersDir(name), `${containerId}.json`)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
    async locked(name, fn) {
      await mkdir(dir, { recursive: true });
      return withFileLock(join(dir, `${name}.lock`), fn, { timeoutMs: 10_000, staleMs: 30_000 });
    },
  };
  return store;
}
