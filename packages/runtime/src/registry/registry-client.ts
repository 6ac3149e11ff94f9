/**
 * One repository of one registry, as the distribution spec's HTTP API sees
 * it: requests under `/v2/<repository>/`, authenticated on demand (a `401`
 * with `WWW-Authenticate: Bearer` -> token server; `Basic` -> credentials),
 * redirects followed by hand (no `Authorization` to another origin, no
 * downgrade to HTTP), transient failures retried with exponential back-off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createDebug } from '../debug.js';
import { CspecError, isCspecError } from '../errors.js';
import type { Credentials } from './credentials.js';
import type { RegistryEndpoint } from './endpoint.js';
import { isTransient, unreachable } from './network-failure.js';
import { headersAfterRedirect, isRedirect, MAX_REDIRECTS, redirectTarget } from './redirect-policy.js';
import { basicAuthorization, fetchToken } from './token.js';
import { parseChallenges } from './www-authenticate.js';

const debug = createDebug('cspec:registry');

/** What fetch takes as a request body. */
export type RequestBody = NonNullable<RequestInit['body']>;

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** A fresh body for every attempt (a stream cannot be sent twice). */
  readonly body?: () => RequestBody;
  /** Retry transient failures (network errors, 429, 5xx). @default true */
  readonly retry?: boolean;
  /** Aborts this request only (the client's own signal aborts every request). */
  readonly signal?: AbortSignal;
}

export interface RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly repository: string;
  /** `path` is relative to `/v2/<repository>/` (`manifests/latest`), or an absolute URL (an upload's Location). */
  request(method: string, path: string | URL, options?: RequestOptions): Promise<Response>;
}

export interface RegistryClientOptions {
  readonly endpoint: RegistryEndpoint;
  readonly repository: string;
  readonly actions: readonly ('pull' | 'push')[];
  readonly credentials: () => Promise<Credentials | undefined>;
  readonly signal?: AbortSignal | undefined;
  /** Attempts for a transient failure. @default 4 */
  readonly attempts?: number;
  /** First back-off pause; doubled each time. @default 250 */
  readonly backoffMs?: number;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** A short, secret-free reason from a registry error body (`{"errors":[{"code","message"}]}`). */
export async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
  } catch {}
  return text.trim().slice(0, 200) || res.statusText;
}

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const { endpoint, repository, signal } = options;
  const base = new URL(`${endpoint.baseUrl}/v2/${repository}/`);
  const scope = `repository:${repository}:${options.actions.join(',')}`;
  const attempts = options.attempts ?? 4;
  const backoffMs = options.backoffMs ?? 250;
  let authorization: string | undefined;
  let login: Promise<void> | undefined;
  let credentials: Promise<Credentials | undefined> | undefined;
  const getCredentials = () => {
    credentials ??= options.credentials();
    return credentials;
  };

  /** One request with redirects followed by hand. */
  const send = async (
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: (() => RequestBody) | undefined,
    requestSignal?: AbortSignal,
  ): Promise<Response> => {
    const signals = [signal, requestSignal].filter((s): s is AbortSignal => s !== undefined);
    const fetchSignal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const origin = url.origin;
    let current = url;
    let currentMethod = method;
    let currentHeaders: Record<string, string> = { 'accept-encoding': 'identity', ...headers };
    let currentBody = body;
    for (let hop = 0; ; hop++) {
      if (current.protocol === 'http:' && !endpoint.allowsHttp(current)) {
        throw new CspecError('CSPEC_REGISTRY_FAILED', `refusing plain HTTP to ${current.host}`);
      }
      let res: Response;
      try {
        const init: RequestInit & { duplex?: 'half' } = {
          method: currentMethod,
          headers: currentHeaders,
          redirect: 'manual',
          ...(fetchSignal ? { signal: fetchSignal } : {}),
        };
        if (currentBody) {
          init.body = currentBody();
          init.duplex = 'half';
        }
        res = await fetch(current, init);
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        if (requestSignal?.aborted)
          throw Object.assign(unreachable(current.host, endpoint.domain, requestSignal.reason), {
            transient: true,
          });
        throw Object.assign(unreachable(current.host, endpoint.domain, error), {
          transient: isTransient(error),
        });
      }
      if (!isRedirect(res.status)) return res;
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new CspecError(
          'CSPEC_REGISTRY_FAILED',
          `${url.host} redirected more than ${MAX_REDIRECTS} times`,
        );
      }
      const next = redirectTarget(current, res.headers.get('location'), endpoint.allowsHttp);
      debug('%s %s -> %d, following to %s', currentMethod, current.host, res.status, next.host);
      currentHeaders = headersAfterRedirect(currentHeaders, origin, next);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && currentMethod === 'POST')) {
        currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
        currentBody = undefined;
      }
      current = next;
    }
  };

  const rejected = (creds: Credentials | undefined) =>
    creds
      ? new CspecError(
          'CSPEC_REGISTRY_UNAUTHORIZED',
          `${endpoint.credentialHost} rejected the credentials of "${creds.username}" (from ${creds.origin}) for ${repository}`,
          { hint: `check the username and password for ${endpoint.credentialHost} in ${creds.origin}` },
        )
      : new CspecError(
          'CSPEC_REGISTRY_UNAUTHORIZED',
          `${endpoint.credentialHost} refuses anonymous access to ${repository} (it may not exist, or it needs credentials)`,
          {
            hint: `add credentials for ${endpoint.credentialHost} to ~/.docker/config.json ("auths") or DOCKER_AUTH_CONFIG`,
          },
        );

  /** Answers a 401 to a request that was sent with `sent` (requests run in parallel: another one may have logged in meanwhile). */
  const authenticate = async (res: Response, sent: string | undefined): Promise<void> => {
    const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
    await res.body?.cancel();
    if (authorization !== sent) return;
    const creds = await getCredentials();
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const tokenSend = async (url: URL, headers: Record<string, string>) => {
        if (url.protocol === 'http:' && !endpoint.allowsHttp(url)) {
          throw new CspecError(
            'CSPEC_REGISTRY_FAILED',
            `the token server ${url.host} uses plain HTTP; refused`,
            {
              hint: `add ${url.host} to CSPEC_INSECURE_REGISTRIES if you trust the network path`,
            },
          );
        }
        return send('GET', url, headers, undefined);
      };
      authorization = await fetchToken(bearer, scope, creds, tokenSend, endpoint.credentialHost);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!creds || sent !== undefined) throw rejected(creds);
      authorization = basicAuthorization(creds);
      return;
    }
    throw new CspecError(
      'CSPEC_REGISTRY_UNAUTHORIZED',
      `${endpoint.domain} answered 401 with no challenge cspec supports (${challenges.map((c) => c.scheme).join(', ') || 'none'})`,
    );
  };

  return {
    endpoint,
    repository,
    async request(method, path, requestOptions = {}) {
      const url = path instanceof URL ? path : new URL(path, base);
      const retry = requestOptions.retry ?? true;
      let authAttempts = 0;
      for (let attempt = 1; ; ) {
        const headers: Record<string, string> = { ...requestOptions.headers };
        const sent = url.origin === base.origin ? authorization : undefined;
        if (sent) headers.authorization = sent;
        let res: Response;
        try {
          res = await send(method, url, headers, requestOptions.body, requestOptions.signal);
        } catch (error) {
          const transient = (error as { transient?: boolean }).transient === true;
          if (!retry || !transient || attempt >= attempts || !isCspecError(error)) throw error;
          debug(
            '%s %s failed (%s), attempt %d of %d',
            method,
            url.pathname,
            error.message,
            attempt,
            attempts,
          );
          await sleep(backoffMs * 2 ** (attempt - 1), undefined, signal ? { signal } : {});
          attempt++;
          continue;
        }
        if (res.status === 401) {
          // Once per request: a second 401 means the credentials (or the token's scope) are not enough.
          if (authAttempts > 0) {
            await res.body?.cancel();
            throw rejected(await getCredentials());
          }
          authAttempts++;
          // Parallel requests share one login.
          if (login) {
            await res.body?.cancel();
          } else {
            login = authenticate(res, sent).finally(() => {
              login = undefined;
            });
          }
          await login;
          continue;
        }
        if (retry && RETRY_STATUSES.has(res.status) && attempt < attempts) {
          await res.body?.cancel();
          debug('%s %s answered %d, attempt %d of %d', method, url.pathname, res.status, attempt, attempts);
          const after = Number(res.headers.get('retry-after'));
          const pause =
            Number.isFinite(after) && after > 0
              ? Math.min(after * 1000, 10_000)
              : backoffMs * 2 ** (attempt - 1);
          await sleep(pause, undefined, signal ? { signal } : {});
          attempt++;
          continue;
        }
        return res;
      }
    },
  };
}
