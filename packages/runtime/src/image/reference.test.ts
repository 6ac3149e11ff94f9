import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { parseReference } from './reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it('keeps cspec names local', () => {
    expect(parseReference('cspec/debian:bookworm')).toEqual({
      domain: undefined,
      repository: 'cspec/debian',
      tag: 'bookworm',
      digest: undefined,
      normalized: 'cspec/debian:bookworm',
    });
    expect(parseReference('cspec/debian').normalized).toBe('cspec/debian:latest');
  });

  it('applies Docker Hub defaults', () => {
    expect(parseReference('postgres')).toEqual({
      domain: 'docker.io',
      repository: 'library/postgres',
      tag: 'latest',
      digest: undefined,
      normalized: 'docker.io/library/postgres:latest',
    });
    expect(parseReference('postgres:16').normalized).toBe('docker.io/library/postgres:16');
    expect(parseReference('bitnami/redis:7.2').normalized).toBe('docker.io/bitnami/redis:7.2');
    expect(parseReference('docker.io/library/postgres:16').normalized).toBe('docker.io/library/postgres:16');
    // "docker.io/postgres" is Docker Hub's official image too, as Docker normalizes it.
    expect(parseReference('docker.io/postgres').normalized).toBe('docker.io/library/postgres:latest');
    expect(parseReference('index.docker.io/bitnami/redis').normalized).toBe('docker.io/bitnami/redis:latest');
    expect(parseReference('index.docker.io/redis:7').normalized).toBe('docker.io/library/redis:7');
    expect(parseReference(`postgres@sha256:${'a'.repeat(64)}`).normalized).toBe(
      `docker.io/library/postgres@sha256:${'a'.repeat(64)}`,
    );
  });

  it('recognizes registry hosts by a dot, a port or localhost', () => {
    expect(parseReference('localhost/app')).toMatchObject({ domain: 'localhost', repository: 'app' });
    expect(parseReference('localhost:5000/team/app:1.0')).toMatchObject({
      domain: 'localhost:5000',
      repository: 'team/app',
      tag: '1.0',
    });
    expect(parseReference('127.0.0.1:5000/app').domain).toBe('127.0.0.1:5000');
    expect(parseReference('ghcr.io/org/sub/app:v1').repository).toBe('org/sub/app');
    expect(parseReference('Registry.Example.com/app').domain).toBe('Registry.Example.com');
    // Without a dot, port or "localhost", the first part is a path component.
    expect(parseReference('team/app')).toMatchObject({ domain: 'docker.io', repository: 'team/app' });
  });

  it('parses digests, with or without a tag', () => {
    expect(parseReference(`localhost:5000/team/app:1.0@${digest}`)).toMatchObject({
      tag: '1.0',
      digest,
      normalized: `localhost:5000/team/app:1.0@${digest}`,
    });
    expect(parseReference(`registry.example.com/app@${digest}`)).toMatchObject({
      tag: undefined,
      digest,
      normalized: `registry.example.com/app@${digest}`,
    });
  });

  it('accepts the separators and tag characters Docker accepts', () => {
    expect(parseReference('my.app_x__y--z:V1.2-rc_3').normalized).toBe(
      'docker.io/library/my.app_x__y--z:V1.2-rc_3',
    );
    expect(parseReference(`app:${'t'.repeat(128)}`).tag).toHaveLength(128);
    expect(parseReference('app:_private').tag).toBe('_private');
  });

  it.each([
    ['', /the reference is empty/],
    ['Bad Image::', /white space/],
    ['app:bad tag', /white space/],
    ['Upper/case', /lower-case/],
    ['team/App', /lower-case/],
    ['app:-x', /tag "-x"/],
    ['app:.x', /tag ".x"/],
    [`app:${'t'.repeat(129)}`, /at most 128/],
    ['app:', /tag ""/],
    ['app@sha256:123', /64 lower-case hex/],
    [`app@sha512:${'a'.repeat(128)}`, /only sha256/],
    [`app@sha256:${'A'.repeat(64)}`, /64 lower-case hex/],
    ['a//b', /empty part/],
    ['/app', /empty part/],
    ['app/', /empty part/],
    [':tag', /name is empty/],
    ['app_:1', /not a valid name component/],
    ['-app', /not a valid name component/],
    ['a..b', /not a valid name component/],
    ['localhost:port/app', /not a valid registry host/],
    ['exa_mple.com/app', /not a valid registry host/],
    [`${'a'.repeat(256)}`, /longer than 255/],
  ])('rejects %j', (input, why) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_INVALID_REFERENCE')).toBe(true);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toContain(`invalid image reference "${input}"`);
    expect((error as Error).message).toContain('expected NAME[:TAG][@DIGEST], e.g. cspec/debian:bookworm');
  });
});
