/** Pure formatting of containers for `cspec ps` (docker-like, compact). */
import type { ContainerInfo } from '@cspec/runtime';

/** `3s`, `5m`, `2h`, `4d` — the largest whole unit. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function formatAgo(iso: string, nowMs: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '-' : `${formatDuration(nowMs - t)} ago`;
}

type StatusInput = Pick<ContainerInfo, 'status' | 'exit' | 'createdAt'> & {
  /** When it exited, if the engine knows. */
  readonly finishedAt?: string;
};

/** `Up 3s`, `Exited (0) 5s ago`, `Exited (0)`, `OOMKilled`, `Created`. */
export function formatStatus(info: StatusInput, nowMs: number): string {
  if (info.status === 'running') {
    const t = Date.parse(info.createdAt);
    return Number.isNaN(t) ? 'Up' : `Up ${formatDuration(nowMs - t)}`;
  }
  if (info.status === 'exited' || info.exit) {
    if (info.exit?.oomKilled && info.exit.exitCode === 137) return 'OOMKilled';
    const code = info.exit ? ` (${info.exit.exitCode})` : '';
    return info.finishedAt ? `Exited${code} ${formatAgo(info.finishedAt, nowMs)}` : `Exited${code}`;
  }
  return 'Created';
}

/** `127.0.0.1:41234->5432/tcp, 127.0.0.1:41235->6379/tcp`, ordered by container port. */
export function formatPorts(ports: Readonly<Record<number, number>>): string {
  return Object.entries(ports)
    .map(([container, host]) => [Number(container), host] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([container, host]) => `127.0.0.1:${host}->${container}/tcp`)
    .join(', ');
}

/** The command as a shell would show it, quoted where needed, cut to `width` characters. */
export function formatCommand(command: readonly string[], width = 30): string {
  const text = command
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
    .join(' ');
  const cut = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return `"${cut}"`;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** One `cspec ps` row. */
export function psRow(info: ContainerInfo, nowMs: number): string[] {
  return [
    shortId(info.id),
    info.image,
    formatCommand(info.command),
    formatAgo(info.createdAt, nowMs),
    formatStatus(info, nowMs),
    info.status === 'running' ? formatPorts(info.ports) : '',
    info.name,
  ];
}

export const PS_HEADERS = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
