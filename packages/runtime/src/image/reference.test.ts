import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { parseReference } from './reference.js';

describe('parseReference', () => {
  it('keeps cspec names local', () => {
    expect(parseReference('cspec/debian:bookworm')).toEqual({
      domain: undefined,
      repository: 'cspec/debian',
      tag: 'bookworm',
      digest: undefined,
      normalized: 'cspec/debian:bookworm',
    });
  });
  it('applies Docker Hub defaults', () => {
    expect(parseReference('postgres').normalized).toBe('docker.io/library/postgres:latest');
    expect(parseReference('bitnami/redis:7.2').normalized).toBe('docker.io/bitnami/redis:7.2');
  });
  it('parses registries with ports, tags and digests', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`localhost:5000/team/app:1.0@${digest}`)).toMatchObject({
      domain: 'localhost:5000',
      repository: 'team/app',
      tag: '1.0',
      digest,
    });
    expect(parseReference(`registry.example.com/app@${digest}`).tag).toBeUndefined();
  });
  it.each([
    ['', /empty/],
    ['Bad Image::', /white space/],
    ['Upper/case', /lower-case/],
    ['app:bad tag', /white space/],
    ['app:-x', /tag "-x"/],
    ['app@sha256:123', /digest/],
    ['a//b', /empty part/],
    ['app_:1', /not a valid name component/],
  ])('rejects %j', (input, why) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_INVALID_REFERENCE')).toBe(true);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toContain('expected NAME[:TAG][@DIGEST]');
  });
});
