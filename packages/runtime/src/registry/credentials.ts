/**
 * Registry credentials from Docker's client config: the `auths` map of
 * `DOCKER_AUTH_CONFIG` (inline JSON, asked first) or of `config.json`
 * (`$DOCKER_CONFIG` or `~/.docker`). An entry holds `auth` (base64 of
 * `user:password`) or `username` and `password`. Credential helpers
 * (`credsStore`, `credHelpers`) are not run: a host that only they know
 * gets a clear error instead of an anonymous attempt that fails later.
 * Secrets never appear in messages or logs.
 */
import { readFile } from 'node:fs/promises';
import { CspecError } from '../errors.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** Where they came from, for messages: `DOCKER_AUTH_CONFIG` or the file's path. */
  readonly origin: string;
}

export interface CredentialSources {
  readonly dockerAuthConfig: string | undefined;
  readonly dockerConfigFile: string;
}

interface DockerConfig {
  readonly auths?: Readonly<
    Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>
  >;
  readonly credsStore?: string;
  readonly credHelpers?: Readonly<Record<string, string>>;
}

/** The names Docker Hub goes by in `auths` keys. */
const DOCKER_HUB_NAMES = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.docker.io'];

/** `https://index.docker.io/v1/` -> `index.docker.io`; `localhost:5000` stays. */
export function authKeyHost(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
}

function sameRegistry(key: string, host: string): boolean {
  const a = authKeyHost(key);
  const b = host.toLowerCase();
  if (a === b) return true;
  return DOCKER_HUB_NAMES.includes(a) && DOCKER_HUB_NAMES.includes(b);
}

function parseConfig(text: string, origin: string): DockerConfig {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as DockerConfig;
  } catch (error) {
    // The text may hold secrets: only its origin and the parser's complaint are shown.
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `${origin} is not valid JSON (${(error as Error).message.replace(/".*"/g, '…')})`,
      {
        hint: 'it should look like {"auths":{"registry.example:5000":{"auth":"<base64 of user:password>"}}}',
      },
    );
  }
}

/** Looks `host` up in one config; undefined when the config knows nothing of it. */
export function credentialsIn(config: DockerConfig, host: string, origin: string): Credentials | undefined {
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!sameRegistry(key, host) || typeof entry !== 'object' || entry === null) continue;
    if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
      return { username: entry.username, password: entry.password, origin };
    }
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new CspecError(
          'CSPEC_INVALID_SPEC',
          `the "auth" entry for ${key} in ${origin} is not base64 of "user:password"`,
          { hint: 'write it with: printf %s "user:password" | base64' },
        );
      }
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), origin };
    }
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      throw new CspecError(
        'CSPEC_REGISTRY_UNAUTHORIZED',
        `the entry for ${key} in ${origin} holds an identity token, which cspec does not support yet`,
        { hint: 'give a username and password (or "auth") for that registry instead' },
      );
    }
  }
  const helper =
    Object.entries(config.credHelpers ?? {}).find(([key]) => sameRegistry(key, host))?.[1] ??
    config.credsStore;
  if (helper) {
    throw new CspecError(
      'CSPEC_REGISTRY_UNAUTHORIZED',
      `${origin} keeps the credentials for ${host} in the credential helper "docker-credential-${helper}", which cspec does not run yet`,
      {
        hint: `put them into DOCKER_AUTH_CONFIG as {"auths":{"${host}":{"username":"…","password":"…"}}}, or remove the helper entry`,
      },
    );
  }
  return undefined;
}

/** The credentials for `host` (`registry.example:5000`, `docker.io`), or undefined for anonymous access. */
export async function findCredentials(
  host: string,
  sources: CredentialSources,
): Promise<Credentials | undefined> {
  if (sources.dockerAuthConfig !== undefined) {
    const inline = credentialsIn(
      parseConfig(sources.dockerAuthConfig, 'DOCKER_AUTH_CONFIG'),
      host,
      'DOCKER_AUTH_CONFIG',
    );
    if (inline) return inline;
  }
  let text: string;
  try {
    text = await readFile(sources.dockerConfigFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `cannot read ${sources.dockerConfigFile}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return credentialsIn(parseConfig(text, sources.dockerConfigFile), host, sources.dockerConfigFile);
}
