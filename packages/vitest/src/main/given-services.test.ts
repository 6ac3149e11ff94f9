import { describe, expect, it } from 'vitest';
import { postgres, redis } from '../services/definitions.js';
import { parseGivenServices } from './given-services.js';

const declared = { db: postgres(), cache: redis() };
const given = {
  services: {
    db: { kind: 'postgres', name: 'db', host: 'db', port: 5432 },
    cache: { kind: 'redis', name: 'cache', host: 'cache', port: 6379 },
  },
};

describe('parseGivenServices', () => {
  it('takes the services the config declares', () => {
    expect(parseGivenServices(JSON.stringify(given), declared)).toEqual(given);
  });

  it('refuses other services, another kind, or no JSON', () => {
    expect(() => parseGivenServices(JSON.stringify(given), { db: postgres() })).toThrow(
      /holds the services \[cache, db\] but this config declares \[db\]/,
    );
    expect(() => parseGivenServices(JSON.stringify(given), { db: redis(), cache: redis() })).toThrow(
      /gives "db" as postgres, but this config declares redis/,
    );
    expect(() => parseGivenServices('{', declared)).toThrow(/CSPEC_SERVICES is not JSON/);
  });
});
