/**
 * The client's HTTP behaviour against small local servers: the bearer flow
 * (401 -> token server -> retry), shared logins, retries of 503, and
 * redirects that drop Authorization for another origin. The same flows run
 * against a real registry in test/registry/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { resolveEndpoint } from './endpoint.js';
import { createRegistryClient } from './registry-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];

async function serve(host: string, handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return `${host}:${(server.address() as { port: number }).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const client = (domain: string, credentials?: { username: string; password: string }) =>
  createRegistryClient({
    endpoint: resolveEndpoint(domain, { dockerHubMirror: undefined, insecureRegistries: [] }),
    repository: 'team/app',
    actions: ['pull'],
    credentials: async () => (credentials ? { ...credentials, origin: 'test' } : undefined),
    backoffMs: 1,
  });

describe('registry client', () => {
  it('follows a bearer challenge to the token server once for parallel requests, then sends the token', async () => {
    const tokenRequests: string[] = [];
    const tokens = await serve('127.0.0.1', (req, res) => {
      tokenRequests.push(`${req.url} ${req.headers.authorization}`);
      res.end(JSON.stringify({ token: 'tok-1' }));
    });
    const seen: (string | undefined)[] = [];
    const registry = await serve('127.0.0.1', (req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Bearer tok-1') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${tokens}/token",service="reg",scope="repository:team/app:pull"`,
        });
        res.end();
        return;
      }
      res.end('ok');
    });
    const c = client(registry, { username: 'u', password: 'p' });
    const answers = await Promise.all([1, 2, 3].map(() => c.request('GET', 'manifests/1')));
    expect(await Promise.all(answers.map((a) => a.text()))).toEqual(['ok', 'ok', 'ok']);
    expect(tokenRequests).toEqual([
      `/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull Basic ${Buffer.from('u:p').toString('base64')}`,
    ]);
    expect(seen.filter((a) => a === 'Bearer tok-1')).toHaveLength(3);
  });

  it('retries 503 and gives up on a second 401 with a clear error', async () => {
    let calls = 0;
    const flaky = await serve('127.0.0.1', (_req, res) => {
      calls++;
      res.writeHead(calls < 3 ? 503 : 200);
      res.end('fine');
    });
    expect((await client(flaky).request('GET', 'manifests/1')).status).toBe(200);
    expect(calls).toBe(3);

    const locked = await serve('127.0.0.1', (_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' });
      res.end();
    });
    const error = await client(locked, { username: 'u', password: 'secret' })
      .request('GET', 'manifests/1')
      .catch((e: unknown) => e as Error);
    expect(isCspecError(error, 'CSPEC_REGISTRY_UNAUTHORIZED')).toBe(true);
    expect((error as Error).message).toBe(
      `${locked} rejected the credentials of "u" (from test) for team/app`,
    );
  });

  it('keeps Authorization on same-origin redirects and drops it for another host', async () => {
    const storageSaw: (string | undefined)[] = [];
    const storage = await serve('localhost', (req, res) => {
      storageSaw.push(req.headers.authorization);
      res.end('blob');
    });
    const registry = await serve('127.0.0.1', (req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' });
        res.end();
      } else if (req.url?.endsWith('/same')) {
        res.writeHead(307, { location: `/v2/team/app/blobs/there` });
        res.end();
      } else if (req.url?.endsWith('/there')) {
        res.end('same origin');
      } else {
        res.writeHead(307, { location: `http://${storage}/bucket/blob?sig=1` });
        res.end();
      }
    });
    const c = client(registry, { username: 'u', password: 'p' });
    expect(await (await c.request('GET', 'blobs/same')).text()).toBe('same origin');
    expect(await (await c.request('GET', 'blobs/sha256:x')).text()).toBe('blob');
    expect(storageSaw).toEqual([undefined]);
  });
});
