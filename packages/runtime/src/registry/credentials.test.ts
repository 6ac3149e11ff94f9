import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { credentialsIn, findCredentials } from './credentials.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('credentialsIn', () => {
  it('decodes "auth" and takes username/password', () => {
    expect(
      credentialsIn({ auths: { 'r.example:5000': { auth: b64('me:p:w') } } }, 'r.example:5000', 'x'),
    ).toEqual({
      username: 'me',
      password: 'p:w',
      origin: 'x',
    });
    expect(
      credentialsIn(
        { auths: { 'https://r.example/v2/': { username: 'u', password: 'p' } } },
        'r.example',
        'x',
      ),
    ).toMatchObject({ username: 'u', password: 'p' });
  });

  it('matches Docker Hub under its several names', () => {
    const config = { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:secret') } } };
    expect(credentialsIn(config, 'docker.io', 'x')?.username).toBe('hub');
    expect(credentialsIn(config, 'registry-1.docker.io', 'x')?.username).toBe('hub');
    expect(credentialsIn(config, 'quay.io', 'x')).toBeUndefined();
  });

  it('names credential helpers it cannot run, never the secret', () => {
    let error: unknown;
    try {
      credentialsIn({ auths: { 'ghcr.io': {} }, credsStore: 'desktop' }, 'ghcr.io', '/h/.docker/config.json');
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_REGISTRY_UNAUTHORIZED')).toBe(true);
    expect((error as Error).message).toContain('docker-credential-desktop');
    expect(() => credentialsIn({ credHelpers: { 'gcr.io': 'gcloud' } }, 'gcr.io', 'x')).toThrow(/gcloud/);
    expect(credentialsIn({ credHelpers: { 'gcr.io': 'gcloud' } }, 'quay.io', 'x')).toBeUndefined();
    expect(() => credentialsIn({ auths: { 'a.io': { auth: b64('nocolon') } } }, 'a.io', 'x')).toThrow(
      /base64/,
    );
  });
});

describe('findCredentials', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-creds-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('asks DOCKER_AUTH_CONFIG first, then the file; a missing file means anonymous', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { 'a.io': { auth: b64('file:1') } } }));
    const inline = JSON.stringify({ auths: { 'b.io': { username: 'env', password: '2' } } });
    expect(await findCredentials('b.io', { dockerAuthConfig: inline, dockerConfigFile: file })).toEqual({
      username: 'env',
      password: '2',
      origin: 'DOCKER_AUTH_CONFIG',
    });
    expect(
      (await findCredentials('a.io', { dockerAuthConfig: inline, dockerConfigFile: file }))?.origin,
    ).toBe(file);
    expect(
      await findCredentials('c.io', {
        dockerAuthConfig: undefined,
        dockerConfigFile: join(dir, 'none.json'),
      }),
    ).toBeUndefined();
  });

  it('reports broken JSON without echoing it', async () => {
    const secret = '{"auths":{"a.io":{"auth":"c2VjcmV0OnNlY3JldA=="}}';
    const error = await findCredentials('a.io', {
      dockerAuthConfig: secret,
      dockerConfigFile: '/none',
    }).catch((e: unknown) => e as Error);
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).not.toContain('c2VjcmV0');
  });
});
