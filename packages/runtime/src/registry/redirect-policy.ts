/**
 * What a request keeps when it follows a redirect. Blob downloads are often
 * redirected to storage on another host (S3, a CDN): the registry's
 * `Authorization` header must not travel there, and neither may a request
 * drop from HTTPS to plain HTTP unless the target is allowed plain HTTP.
 */
import { CspecError } from '../errors.js';

export const MAX_REDIRECTS = 5;

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/**
 * The headers for the request to `to`, redirected from a request whose
 * credentials belong to `credentialOrigin`: the same headers, less
 * `Authorization` when `to` is another origin (scheme, host or port).
 */
export function headersAfterRedirect(
  headers: Readonly<Record<string, string>>,
  credentialOrigin: string,
  to: URL,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization' && to.origin !== credentialOrigin) continue;
    out[name] = value;
  }
  return out;
}

/** The redirect's target; refuses other schemes and HTTPS -> HTTP unless the target may use HTTP. */
export function redirectTarget(from: URL, location: string | null, allowsHttp: (url: URL) => boolean): URL {
  if (!location) {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `${from.host} answered a redirect without a Location`);
  }
  const to = new URL(location, from);
  if (to.protocol !== 'https:' && to.protocol !== 'http:') {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${from.host} redirected to an unsupported URL scheme ${to.protocol}`,
    );
  }
  if (to.protocol === 'http:' && !allowsHttp(to)) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${from.host} redirected to plain HTTP on ${to.host}, which cspec refuses for non-loopback hosts`,
      { hint: `add ${to.host} to CSPEC_INSECURE_REGISTRIES if you trust the network path` },
    );
  }
  return to;
}
