import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { resolveUser } from './user-lookup.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'postgres:x:100:102:PostgreSQL:/var/lib/postgresql:/bin/bash',
].join('\n');
const group = ['root:x:0:', 'daemon:x:1:', 'postgres:x:102:', 'ssl-cert:x:103:postgres', 'video:x:44:'].join(
  '\n',
);

describe('resolveUser', () => {
  it('defaults to root', () => {
    expect(resolveUser(undefined, passwd, group)).toEqual({
      uid: 0,
      gid: 0,
      additionalGids: [],
      home: '/root',
    });
  });
  it('defaults to uid 0 in an image without /etc/passwd', () => {
    expect(resolveUser(undefined, '', '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
  });

  it('resolves a name with its primary and supplementary groups', () => {
    expect(resolveUser('postgres', passwd, group)).toEqual({
      uid: 100,
      gid: 102,
      additionalGids: [103],
      home: '/var/lib/postgresql',
    });
  });
  it('accepts numeric uid:gid not in passwd', () => {
    expect(resolveUser('1234:5678', passwd, group)).toMatchObject({ uid: 1234, gid: 5678, home: '/' });
  });
  it('resolves user:group by name', () => {
    expect(resolveUser('daemon:video', passwd, group)).toMatchObject({ uid: 1, gid: 44, additionalGids: [] });
  });
  it('rejects an unknown user or group with a clear error', () => {
    let error: unknown;
    try {
      resolveUser('nobody-here', passwd, group);
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toContain('"nobody-here" does not exist');
    expect(() => resolveUser('root:nogroup', passwd, group)).toThrow(/group "nogroup" does not exist/);
  });
});
