/**
 * The ids a user may map into a user namespace: its own uid/gid, plus the
 * subordinate ranges /etc/subuid and /etc/subgid give it (shadow's
 * newuidmap/newgidmap write those maps for an unprivileged user). Inside,
 * id 0 is the user; ids from 1 are the subordinate range, so images whose
 * files belong to several users (postgres, mysql, _apt) keep their owners.
 */
import { readFileSync } from 'node:fs';

export interface IdRange {
  /** First id on the host. */
  readonly start: number;
  readonly count: number;
}

/** One line of a uid_map/gid_map: `inside outside count`. */
export interface IdMapping {
  readonly inside: number;
  readonly outside: number;
  readonly count: number;
}

export interface UserIds {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  /** Undefined where /etc/subuid (or /etc/subgid) gives the user nothing. */
  readonly subuid: IdRange | undefined;
  readonly subgid: IdRange | undefined;
}

/**
 * The first range of `user` (by name or by uid) in a subuid/subgid file's
 * text (`name-or-id:start:count` lines). The largest one when there are several.
 */
export function parseSubordinateRange(text: string, user: { name: string; id: number }): IdRange | undefined {
  let best: IdRange | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who !== user.name && who !== String(user.id)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.count) || range.count <= 0)
      continue;
    if (!best || range.count > best.count) best = range;
  }
  return best;
}

/** `0 -> own id (1)`, then `1 -> the subordinate range`: the maps of a rootless container's namespace. */
export function idMappings(own: number, range: IdRange | undefined): IdMapping[] {
  const maps: IdMapping[] = [{ inside: 0, outside: own, count: 1 }];
  if (range) maps.push({ inside: 1, outside: range.start, count: range.count });
  return maps;
}

/** The host id that `inside` is, under `maps`; undefined when it is not mapped. */
export function hostIdOf(maps: readonly IdMapping[], inside: number): number | undefined {
  const m = maps.find((x) => inside >= x.inside && inside < x.inside + x.count);
  return m === undefined ? undefined : m.outside + (inside - m.inside);
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The user's name, from /etc/passwd (the subordinate files name users by name). */
function userName(uid: number, passwd: string): string {
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === uid) return name;
  }
  return String(uid);
}

export function readUserIds(files: { passwd?: string; subuid?: string; subgid?: string } = {}): UserIds {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = userName(uid, readOrEmpty(files.passwd ?? '/etc/passwd'));
  return {
    uid,
    gid,
    name,
    subuid: parseSubordinateRange(readOrEmpty(files.subuid ?? '/etc/subuid'), { name, id: uid }),
    subgid: parseSubordinateRange(readOrEmpty(files.subgid ?? '/etc/subgid'), { name, id: uid }),
  };
}
