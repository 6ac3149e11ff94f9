import { describe, expect, it } from 'vitest';
import type { ProvidedGeneric, ProvidedPostgres } from '../provided.js';
import { seenFromNetwork } from './network-view.js';

const base = { containerId: 'c1', image: 'cspec/postgres:15', host: '127.0.0.1', scope: 'test' } as const;

describe('seenFromNetwork', () => {
  it('gives a database service its name and container port', () => {
    const db: ProvidedPostgres = {
      ...base,
      name: 'db',
      kind: 'postgres',
      port: 40123,
      user: 'u',
      password: 'p',
      template: 't',
      cloneStrategy: 'FILE_COPY',
      poolSize: 2,
      keepOnFailure: false,
    };
    expect(seenFromNetwork(db, { 5432: 40123 })).toEqual({ ...db, host: 'db', port: 5432 });
  });

  it('maps every port of a generic service to itself', () => {
    const api: ProvidedGeneric = {
      ...base,
      name: 'api',
      kind: 'service',
      ports: { 8080: 41000, 9090: 41001 },
    };
    expect(seenFromNetwork(api, { 8080: 41000, 9090: 41001 })).toMatchObject({
      host: 'api',
      ports: { 8080: 8080, 9090: 9090 },
    });
  });

  it('refuses a port the container does not publish', () => {
    const db = { ...base, name: 'db', kind: 'redis', port: 1, databases: 16 } as const;
    expect(() => seenFromNetwork(db, { 6379: 2 })).toThrow(/publishes no container port on host port 1/);
  });
});
