/**
 * Where a registry is reached: `docker.io` is served by
 * `registry-1.docker.io` (or a configured mirror); every other domain by
 * itself, over HTTPS — plain HTTP only for loopback hosts (127.0.0.0/8,
 * `::1`, `localhost`) and hosts listed as insecure.
 */
import { CspecError } from '../errors.js';

export interface RegistryEndpoint {
  /** The registry as the reference names it (`docker.io`, `127.0.0.1:5000`). */
  readonly domain: string;
  /**
   * The host credentials are looked up for: the domain, or a mirror's own
   * host (Docker Hub credentials never go to a mirror).
   */
  readonly credentialHost: string;
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000` (no trailing slash; may carry a path prefix). */
  readonly baseUrl: string;
  /** Whether plain HTTP is allowed for this registry's hosts (token realms and redirects included). */
  readonly allowsHttp: (url: URL) => boolean;
}

export interface EndpointOptions {
  readonly dockerHubMirror: string | undefined;
  readonly insecureRegistries: readonly string[];
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
const DOCKER_HUB_REGISTRY = 'https://registry-1.docker.io';

/** `127.0.0.1`, `127.1.2.3`, `::1`, `localhost` (with or without a port or brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Whether `url` may be fetched over plain HTTP. */
export function httpAllowed(url: URL, insecureRegistries: readonly string[]): boolean {
  if (isLoopbackHost(url.hostname)) return true;
  const list = insecureRegistries.map((h) =>
    h
      .toLowerCase()
      .replace(/^[a-z]+:\/\//, '')
      .replace(/\/.*$/, ''),
  );
  return list.includes(url.host.toLowerCase()) || list.includes(url.hostname.toLowerCase());
}

export function resolveEndpoint(domain: string, options: EndpointOptions): RegistryEndpoint {
  const allowsHttp = (url: URL) => httpAllowed(url, options.insecureRegistries);
  if (domain === DOCKER_HUB_DOMAIN && options.dockerHubMirror) {
    let mirror: URL;
    try {
      mirror = new URL(options.dockerHubMirror);
    } catch {
      mirror = new URL('invalid:');
    }
    if (mirror.protocol !== 'https:' && mirror.protocol !== 'http:') {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `the registry mirror "${options.dockerHubMirror}" is not an http:// or https:// URL`,
        { hint: 'set CSPEC_REGISTRY_MIRROR to e.g. https://mirror.gcr.io or http://127.0.0.1:5000' },
      );
    }
    if (mirror.protocol === 'http:' && !allowsHttp(mirror)) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `the registry mirror ${mirror.origin} uses plain HTTP, which cspec allows only for loopback hosts and CSPEC_INSECURE_REGISTRIES`,
        { hint: `add ${mirror.host} to CSPEC_INSECURE_REGISTRIES if you trust the network path` },
      );
    }
    return {
      domain,
      credentialHost: mirror.host,
      baseUrl: `${mirror.origin}${mirror.pathname.replace(/\/+$/, '')}`,
      allowsHttp,
    };
  }
  if (domain === DOCKER_HUB_DOMAIN)
    return { domain, credentialHost: domain, baseUrl: DOCKER_HUB_REGISTRY, allowsHttp };
  const scheme = allowsHttp(new URL(`http://${domain}`)) ? 'http' : 'https';
  return { domain, credentialHost: domain, baseUrl: `${scheme}://${domain}`, allowsHttp };
}
