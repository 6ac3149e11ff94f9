/**
 * A token server for the registry's `auth: token` mode: answers
 * `GET /token?service=&scope=` with a JWT (RS256, the signing certificate in
 * its `x5c` header) for users who present the right basic credentials, and
 * refuses anonymous requests. The registry trusts the certificate through
 * its `rootcertbundle`. Requests are counted for the tests.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  readonly requests: { scope: string | null; user: string | undefined }[];
  close(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export async function startTokenServer(
  dir: string,
  users: Readonly<Record<string, string>>,
): Promise<TokenServer> {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=cspec-test-token',
    ],
    { stdio: 'ignore' },
  );
  const key = readFileSync(keyFile);
  const certDer = execFileSync('openssl', ['x509', '-in', certFile, '-outform', 'DER']);
  const service = 'cspec-test-registry';
  const issuer = 'cspec-test-issuer';
  const requests: TokenServer['requests'] = [];

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [scheme, value] = (req.headers.authorization ?? '').split(' ');
    const [user, password] =
      scheme === 'Basic' && value
        ? Buffer.from(value, 'base64').toString().split(':')
        : [undefined, undefined];
    requests.push({ scope: url.searchParams.get('scope'), user });
    if (url.pathname !== '/token' || !user || users[user] !== password) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"details":"bad credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = (url.searchParams.getAll('scope') ?? []).flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user,
      aud: url.searchParams.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
