import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { manifestKind } from './media-types.js';
import { type IndexEntry, parsePlatform, selectManifest } from './platform.js';

const entry = (digest: string, platform?: IndexEntry['platform'], annotations?: Record<string, string>) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

const index = [
  entry('amd', { os: 'linux', architecture: 'amd64' }),
  entry('arm7', { os: 'linux', architecture: 'arm', variant: 'v7' }),
  entry('arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
  entry(
    'att',
    { os: 'unknown', architecture: 'unknown' },
    { 'vnd.docker.reference.type': 'attestation-manifest' },
  ),
  entry('win', { os: 'windows', architecture: 'amd64' }),
];

describe('selectManifest', () => {
  it('picks the platform asked for', () => {
    expect(selectManifest(index, { os: 'linux', architecture: 'amd64' }, 'x').digest).toBe('amd');
    expect(selectManifest(index, { os: 'linux', architecture: 'arm64' }, 'x').digest).toBe('arm64');
    expect(selectManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'x').digest).toBe(
      'arm64',
    );
    expect(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x').digest).toBe(
      'arm7',
    );
    expect(selectManifest(index, { os: 'windows', architecture: 'amd64' }, 'x').digest).toBe('win');
  });

  it('never picks an attestation and lists what exists', () => {
    let error: unknown;
    try {
      selectManifest(index, { os: 'unknown', architecture: 'unknown' }, 'docker.io/library/x:1');
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe(
      'docker.io/library/x:1 has no image for unknown/unknown; it has linux/amd64, linux/arm/v7, linux/arm64/v8, windows/amd64',
    );
    const onlyAttestation = [
      index[3]!,
      entry('att2', undefined, { 'vnd.docker.reference.type': 'attestation-manifest' }),
    ];
    expect(() => selectManifest(onlyAttestation, { os: 'linux', architecture: 'amd64' }, 'x')).toThrow(
      /no runnable image/,
    );
  });
});

describe('parsePlatform', () => {
  it('reads OS/ARCH[/VARIANT] and a bare architecture', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('Linux/AMD64')).toEqual({ os: 'linux', architecture: 'amd64', variant: undefined });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(() => parsePlatform('linux/')).toThrow(/invalid platform/);
    expect(() => parsePlatform('a/b/c/d')).toThrow(/invalid platform/);
  });
});

describe('manifestKind', () => {
  it('goes by media type, then by shape', () => {
    expect(manifestKind('application/vnd.docker.distribution.manifest.list.v2+json', {})).toBe('index');
    expect(manifestKind(undefined, { mediaType: 'application/vnd.oci.image.manifest.v1+json' })).toBe(
      'image',
    );
    expect(manifestKind('application/vnd.docker.distribution.manifest.v2+json; charset=utf-8', {})).toBe(
      'image',
    );
    expect(manifestKind('application/json', { manifests: [] })).toBe('index');
    expect(manifestKind(undefined, { config: {}, layers: [] })).toBe('image');
    expect(
      manifestKind('application/vnd.docker.distribution.manifest.v1+prettyjws', { schemaVersion: 1 }),
    ).toBe('schema1');
  });
});
