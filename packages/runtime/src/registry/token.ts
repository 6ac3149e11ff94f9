/**
 * The bearer-token flow of the distribution spec: the registry's `401` names
 * a token server (`realm`) and a `service`; the client asks it for a token
 * for `scope` (`repository:NAME:pull,push`), with HTTP basic credentials when
 * it has them, and sends the token as `Authorization: Bearer ...`.
 */
import { CspecError } from '../errors.js';
import type { Credentials } from './credentials.js';
import type { AuthChallenge } from './www-authenticate.js';

export type Send = (url: URL, headers: Record<string, string>) => Promise<Response>;

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Asks the token server of `challenge` for a token; returns the `Authorization` value. */
export async function fetchToken(
  challenge: AuthChallenge,
  scope: string,
  credentials: Credentials | undefined,
  send: Send,
  registryHost: string,
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${registryHost} asked for a bearer token but named no token server (realm)`,
    );
  }
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `${registryHost} named an invalid token server "${realm}"`);
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', scope);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (credentials) headers.authorization = basicAuthorization(credentials);
  const res = await send(url, headers);
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw credentials
      ? new CspecError(
          'CSPEC_REGISTRY_UNAUTHORIZED',
          `the token server ${url.host} of ${registryHost} rejected the credentials of "${credentials.username}" (from ${credentials.origin})`,
          { hint: 'check the username and password in that file' },
        )
      : new CspecError(
          'CSPEC_REGISTRY_UNAUTHORIZED',
          `the token server ${url.host} of ${registryHost} refuses anonymous access to ${scope}`,
          { hint: `add credentials for ${registryHost} to ~/.docker/config.json or DOCKER_AUTH_CONFIG` },
        );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `the token server ${url.host} of ${registryHost} answered ${res.status} ${res.statusText}`,
    );
  }
  let body: { token?: unknown; access_token?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch (error) {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `the token server ${url.host} sent no JSON`, {
      cause: error,
    });
  }
  const token = typeof body.token === 'string' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `the token server ${url.host} sent no token`);
  }
  return `Bearer ${token}`;
}
