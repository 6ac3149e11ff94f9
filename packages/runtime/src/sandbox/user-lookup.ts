import { CspecError } from '../errors.js';

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  readonly home: string;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] }));
}

const numeric = /^\d+$/;

/**
 * Resolves `user`, `uid`, `user:group` or `uid:gid` against the image's
 * /etc/passwd and /etc/group, as Docker does.
 */
export function resolveUser(spec: string | undefined, passwdText: string, groupText: string): ResolvedUser {
  // No user given means uid 0, also in images without /etc/passwd (FROM scratch, imported trees).
  const [userPart = '0', groupPart] = (spec?.trim() || '0').split(':');
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const entry = numeric.test(userPart)
    ? passwd.find((p) => p.uid === Number(userPart))
    : passwd.find((p) => p.name === userPart);
  if (!entry && !numeric.test(userPart)) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `user "${userPart}" does not exist in the image's /etc/passwd — use a numeric uid or a user the image defines`,
    );
  }
  const uid = entry?.uid ?? Number(userPart);
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (numeric.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group) {
        throw new CspecError(
          'CSPEC_INVALID_SPEC',
          `group "${groupPart}" does not exist in the image's /etc/group — use a numeric gid or a group the image defines`,
        );
      }
      gid = group.gid;
    }
  }
  const additionalGids =
    entry && groupPart === undefined
      ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)
      : [];
  return { uid, gid, additionalGids, home: entry?.home ?? '/' };
}
