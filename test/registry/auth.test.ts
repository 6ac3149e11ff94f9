/**
 * Authenticated registries, for real: docker-registry with htpasswd (basic
 * auth) and with `auth: token` backed by a token server written here (JWTs
 * signed by a self-signed certificate the registry trusts). Credentials come
 * from a temp DOCKER_CONFIG file or DOCKER_AUTH_CONFIG; wrong ones give a
 * clear error, leave nothing behind, and never appear in the message.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigOverrides, resolveConfig } from '../../packages/runtime/src/config.js';
import { createImageStore, type ImageStore } from '../../packages/runtime/src/image/image-store.js';
import { caught } from '../support/caught.js';
import { type RegistryServer, startRegistry } from './registry-server.js';
import { startTokenServer, type TokenServer } from './token-server.js';

const PASSWORD = 'correct-horse-battery';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('registry authentication', () => {
  let dir: string;
  let layerTar: string;

  const store = async (registry: Partial<ConfigOverrides['registry']> = {}) => {
    const dataDir = await mkdtemp(join(dir, 'store-'));
    const s = createImageStore(
      resolveConfig({
        dataDir,
        registry: { dockerAuthConfig: undefined, dockerConfigFile: join(dir, 'no-config.json'), ...registry },
      }),
    );
    return { dataDir, store: s };
  };
  const nothingLeft = async (dataDir: string, s: ImageStore) => {
    expect(await s.list()).toEqual([]);
    expect(await readdir(join(dataDir, 'tmp')).catch(() => [])).toEqual([]);
    expect(await readdir(join(dataDir, 'layers')).catch(() => [])).toEqual([]);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-registry-auth-'));
    const p = pack();
    p.entry({ name: 'secret.txt', mode: 0o644, mtime: new Date(0) }, 'behind auth\n');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of p) chunks.push(chunk as Buffer);
    layerTar = join(dir, 'layer.tar');
    await writeFile(layerTar, Buffer.concat(chunks));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  describe('basic auth (htpasswd)', () => {
    let registry: RegistryServer;
    beforeAll(async () => {
      registry = await startRegistry({ kind: 'htpasswd', users: { alice: PASSWORD } });
    });
    afterAll(() => registry.stop());

    it('pushes and pulls with credentials from DOCKER_AUTH_CONFIG and from config.json', async () => {
      const remote = `${registry.host}/private/app:1`;
      const inline = JSON.stringify({
        auths: { [registry.host]: { username: 'alice', password: PASSWORD } },
      });
      const { store: pusher } = await store({ dockerAuthConfig: inline });
      const made = await pusher.importRootfs(layerTar, remote);
      const pushed = await pusher.push(remote);
      expect(pushed.blobsUploaded).toBe(2);

      const configFile = join(dir, 'docker-config.json');
      await writeFile(
        configFile,
        JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: b64(`alice:${PASSWORD}`) } } }),
      );
      const { store: puller } = await store({ dockerConfigFile: configFile });
      const pulled = await puller.pull(remote);
      expect(pulled.id).toBe(made.id);
      expect(pulled.manifestDigest).toBe(pushed.manifestDigest);
    });

    it('wrong password or none: a clear error, no tag, nothing left, no secret in the message', async () => {
      const remote = `${registry.host}/private/app:1`;
      const wrong = JSON.stringify({
        auths: { [registry.host]: { username: 'alice', password: 'wrong-password' } },
      });
      const { store: s, dataDir } = await store({ dockerAuthConfig: wrong });
      const error = await caught(s.pull(remote));
      expect(error.code).toBe('CSPEC_REGISTRY_UNAUTHORIZED');
      expect(error.message).toBe(
        `${registry.host} rejected the credentials of "alice" (from DOCKER_AUTH_CONFIG) for private/app`,
      );
      expect(`${error.message} ${error.hint}`).not.toContain('wrong-password');
      await nothingLeft(dataDir, s);

      const { store: anonymous, dataDir: anonymousDir } = await store();
      const none = await caught(anonymous.resolve(remote));
      expect(none.code).toBe('CSPEC_REGISTRY_UNAUTHORIZED');
      expect(none.message).toContain('refuses anonymous access to private/app');
      expect(none.hint).toContain('DOCKER_AUTH_CONFIG');
      await nothingLeft(anonymousDir, anonymous);
    });

    it('names a credential helper it cannot run', async () => {
      const configFile = join(dir, 'helper-config.json');
      await writeFile(configFile, JSON.stringify({ auths: {}, credHelpers: { [registry.host]: 'pass' } }));
      const { store: s } = await store({ dockerConfigFile: configFile });
      const error = await caught(s.pull(`${registry.host}/private/app:1`));
      expect(error.code).toBe('CSPEC_REGISTRY_UNAUTHORIZED');
      expect(error.message).toContain('docker-credential-pass');
    });
  });

  describe('bearer tokens (auth: token)', () => {
    let registry: RegistryServer;
    let tokens: TokenServer;
    beforeAll(async () => {
      tokens = await startTokenServer(dir, { bob: PASSWORD });
      registry = await startRegistry({
        kind: 'token',
        realm: tokens.realm,
        service: tokens.service,
        issuer: tokens.issuer,
        certFile: tokens.certFile,
      });
    });
    afterAll(async () => {
      await registry.stop();
      await tokens.close();
    });

    it('gets a token for pull,push and for pull, and pushes then pulls the same image', async () => {
      const remote = `${registry.host}/team/tool:2`;
      const creds = JSON.stringify({ auths: { [registry.host]: { auth: b64(`bob:${PASSWORD}`) } } });
      const { store: pusher } = await store({ dockerAuthConfig: creds });
      const made = await pusher.importRootfs(layerTar, remote);
      await pusher.push(remote);
      expect(tokens.requests).toContainEqual({ scope: 'repository:team/tool:pull,push', user: 'bob' });

      const { store: puller } = await store({ dockerAuthConfig: creds });
      expect((await puller.pull(remote)).id).toBe(made.id);
      expect(tokens.requests).toContainEqual({ scope: 'repository:team/tool:pull', user: 'bob' });
    });

    it('refuses wrong credentials and anonymous access at the token server', async () => {
      const remote = `${registry.host}/team/tool:2`;
      const wrong = JSON.stringify({
        auths: { [registry.host]: { username: 'bob', password: 'nope-nope' } },
      });
      const { store: s, dataDir } = await store({ dockerAuthConfig: wrong });
      const error = await caught(s.pull(remote));
      expect(error.code).toBe('CSPEC_REGISTRY_UNAUTHORIZED');
      expect(error.message).toMatch(/token server 127\.0\.0\.1:\d+ of .* rejected the credentials of "bob"/);
      expect(error.message).not.toContain('nope-nope');
      await nothingLeft(dataDir, s);

      const { store: anonymous } = await store();
      const none = await caught(anonymous.pull(remote));
      expect(none.code).toBe('CSPEC_REGISTRY_UNAUTHORIZED');
      expect(none.message).toContain('refuses anonymous access to repository:team/tool:pull');
    });
  });
});
