import { describe, expect, it } from 'vitest';
import { parseChallenges } from './www-authenticate.js';

describe('parseChallenges', () => {
  it('reads a Docker Hub bearer challenge', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/postgres:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/postgres:pull',
        },
      },
    ]);
  });

  it('reads basic, unquoted values, escapes and several challenges in one header', () => {
    expect(parseChallenges('Basic realm="basic-realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'basic-realm' } },
    ]);
    expect(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=x , service="s,t"')).toEqual([
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'x', service: 's,t' } },
    ]);
    expect(parseChallenges('BEARER Realm="r",Scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'r', scope: 'repository:a/b:pull,push' } },
    ]);
  });

  it('returns nothing for an empty header', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('   ')).toEqual([]);
  });
});
