import { describe, expect, it } from 'vitest';
import { httpAllowed, isLoopbackHost, resolveEndpoint } from './endpoint.js';

const none = { dockerHubMirror: undefined, insecureRegistries: [] };

describe('resolveEndpoint', () => {
  it('sends Docker Hub to registry-1.docker.io, or to the mirror', () => {
    expect(resolveEndpoint('docker.io', none).baseUrl).toBe('https://registry-1.docker.io');
    const mirrored = resolveEndpoint('docker.io', { ...none, dockerHubMirror: 'http://127.0.0.1:5000/' });
    expect(mirrored.baseUrl).toBe('http://127.0.0.1:5000');
    // Docker Hub credentials are not sent to the mirror: it gets its own, if any.
    expect(mirrored.credentialHost).toBe('127.0.0.1:5000');
    expect(resolveEndpoint('docker.io', none).credentialHost).toBe('docker.io');
    expect(() => resolveEndpoint('docker.io', { ...none, dockerHubMirror: 'http://mirror.example' })).toThrow(
      /plain HTTP/,
    );
    expect(() => resolveEndpoint('docker.io', { ...none, dockerHubMirror: 'mirror.example' })).toThrow(/URL/);
  });

  it('uses plain HTTP only for loopback and insecure hosts', () => {
    expect(resolveEndpoint('127.0.0.1:5000', none).baseUrl).toBe('http://127.0.0.1:5000');
    expect(resolveEndpoint('localhost:5000', none).baseUrl).toBe('http://localhost:5000');
    expect(resolveEndpoint('ghcr.io', none).baseUrl).toBe('https://ghcr.io');
    expect(resolveEndpoint('reg.lan:5000', { ...none, insecureRegistries: ['reg.lan:5000'] }).baseUrl).toBe(
      'http://reg.lan:5000',
    );
    expect(httpAllowed(new URL('http://reg.lan:80/'), ['reg.lan'])).toBe(true);
    expect(httpAllowed(new URL('http://other.lan/'), ['reg.lan'])).toBe(false);
  });

  it('recognises loopback hosts', () => {
    expect(['127.0.0.1', '127.5.6.7', 'localhost', '[::1]', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['128.0.0.1', 'localhost.example', '10.0.0.1', '127.0.0.1.nip.io'].some(isLoopbackHost)).toBe(
      false,
    );
  });
});
