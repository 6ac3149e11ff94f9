import { describe, expect, it } from 'vitest';
import { failureCode, isTransient, unreachable } from './network-failure.js';

const fetchFailure = (code: string) =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

describe('network failures', () => {
  it('finds the innermost code and tells transient failures from final ones', () => {
    expect(failureCode(fetchFailure('ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(isTransient(fetchFailure('ECONNRESET'))).toBe(true);
    expect(isTransient(fetchFailure('ENOTFOUND'))).toBe(false);
    expect(isTransient(fetchFailure('CERT_HAS_EXPIRED'))).toBe(false);
    expect(isTransient(Object.assign(new TypeError('fetch failed'), { cause: new Error('bad port') }))).toBe(
      false,
    );
  });

  it('says which host, why, and what to do', () => {
    const hub = unreachable('registry-1.docker.io', 'docker.io', fetchFailure('ENOTFOUND'));
    expect(hub.code).toBe('CSPEC_REGISTRY_UNREACHABLE');
    expect(hub.message).toBe(
      'cannot reach the registry registry-1.docker.io: its name does not resolve (no DNS, or no such host)',
    );
    expect(hub.hint).toContain('CSPEC_REGISTRY_MIRROR');
    const tls = unreachable('reg.lan:5000', 'reg.lan:5000', fetchFailure('ERR_SSL_WRONG_VERSION_NUMBER'));
    expect(tls.message).toContain('TLS handshake failed');
    expect(tls.hint).toBe('if reg.lan:5000 serves plain HTTP, add it to CSPEC_INSECURE_REGISTRIES');
    expect(unreachable('a.io', 'a.io', fetchFailure('SELF_SIGNED_CERT_IN_CHAIN')).message).toContain(
      'its TLS certificate is not accepted (SELF_SIGNED_CERT_IN_CHAIN)',
    );
  });
});
