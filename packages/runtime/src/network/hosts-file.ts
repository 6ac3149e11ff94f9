/**
 * A container's /etc/hosts: its own name, then every member of every network
 * it is on. The file is bind-mounted into the container, so updates rewrite
 * it in place (same inode); a rename would not be seen through the mount.
 */
import { open } from 'node:fs/promises';

export interface HostsEntry {
  readonly ipAddress: string;
  /** Names in order: container name, hostname, aliases. Duplicates are dropped. */
  readonly names: readonly string[];
}

export interface HostsFileContent {
  readonly hostname: string;
  /** The container's own address; `127.0.1.1` when it is on no network. */
  readonly ipAddress: string | undefined;
  /** Members of the container's networks (the container itself included). */
  readonly peers: readonly HostsEntry[];
}

export function renderHostsFile(content: HostsFileContent): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${content.ipAddress ?? '127.0.1.1'}\t${content.hostname}`,
  ];
  const seen = new Set(lines);
  const sorted = [...content.peers].sort(
    (a, b) => a.ipAddress.localeCompare(b.ipAddress, 'en', { numeric: true }) || compare(a.names, b.names),
  );
  for (const peer of sorted) {
    const names = [...new Set(peer.names.filter(Boolean))];
    if (names.length === 0) continue;
    const line = `${peer.ipAddress}\t${names.join(' ')}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

function compare(a: readonly string[], b: readonly string[]): number {
  return a.join(' ').localeCompare(b.join(' '));
}

/**
 * Replaces the file's content keeping its inode (open, write, truncate).
 * With `create: false` a missing file is left missing and false is returned.
 */
export async function writeInPlace(
  path: string,
  text: string,
  options: { create: boolean },
): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (!options.create) return false;
    handle = await open(path, 'w', 0o644);
    // Bind-mounted as /etc/hosts: every user inside reads it, whatever this process's umask.
    await handle.chmod(0o644);
  }
  try {
    const data = Buffer.from(text);
    await handle.write(data, 0, data.length, 0);
    await handle.truncate(data.length);
    return true;
  } finally {
    await handle.close();
  }
}
