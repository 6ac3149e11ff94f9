/**
 * Turns a failed connection into an error that says which host, why, and
 * what to do instead (this machine may have no route to the registry).
 */
import { CspecError } from '../errors.js';

const REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'its name does not resolve (no DNS, or no such host)',
  EAI_AGAIN: 'its name does not resolve (DNS is not reachable)',
  ECONNREFUSED: 'the connection was refused (nothing listens there)',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed unexpectedly',
  EHOSTUNREACH: 'there is no route to it',
  ENETUNREACH: 'the network is unreachable',
  EPROTO: 'the TLS handshake failed (is it a plain-HTTP registry?)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the TLS handshake failed (is it a plain-HTTP registry?)',
};

/** The innermost cause's code (`ECONNREFUSED`, ...) of a fetch failure. */
export function failureCode(error: unknown): string | undefined {
  let current: unknown = error;
  let code: string | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    current = (current as { cause?: unknown }).cause;
  }
  return code;
}

/** Whether trying again might help (not for a name that does not resolve or a certificate that is wrong). */
export function isTransient(error: unknown): boolean {
  if (/bad port/.test(String((error as { cause?: Error }).cause?.message))) return false;
  const code = failureCode(error);
  if (code === undefined) return true;
  return (
    !['ENOTFOUND', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER'].includes(code) && !/CERT|SSL|TLS/.test(code)
  );
}

export function unreachable(host: string, domain: string, error: unknown): CspecError {
  const code = failureCode(error);
  const badPort = /bad port/.test(String((error as { cause?: Error }).cause?.message));
  const reason =
    (code && REASONS[code]) ??
    (badPort ? 'Node\'s fetch refuses to connect to that port (a browser "bad port")' : undefined) ??
    (code && /CERT|SSL|TLS/.test(code) ? `its TLS certificate is not accepted (${code})` : undefined) ??
    ((error as Error).message || String(error));
  const hint =
    domain === 'docker.io'
      ? 'without network access to Docker Hub: load the image from an archive (cspec image load -i FILE), set CSPEC_REGISTRY_MIRROR to a registry you can reach, or import a root filesystem (cspec image import)'
      : code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER'
        ? `if ${domain} serves plain HTTP, add it to CSPEC_INSECURE_REGISTRIES`
        : 'check the registry is running and reachable from here, or load the image from an archive (cspec image load -i FILE)';
  return new CspecError('CSPEC_REGISTRY_UNREACHABLE', `cannot reach the registry ${host}: ${reason}`, {
    cause: error,
    hint,
  });
}
