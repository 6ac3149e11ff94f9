import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine } from '@cspec/runtime';
import { afterAll, beforeAll } from 'vitest';
import { expectNoLeaks } from './leaks.js';

export const IMAGE = 'cspec/debian:bookworm';

/** A fresh engine (its own session) for one test file. */
export function testEngine(): Promise<Engine> {
  return createEngine();
}

/**
 * An engine for the whole test file: created before its tests, closed after
 * them, and then the host must hold nothing of cspec's.
 */
export function useEngine(): () => Engine {
  let engine: Engine | undefined;
  beforeAll(async () => {
    engine = await createEngine();
  });
  afterAll(async () => {
    await engine?.close();
    expectNoLeaks();
  });
  return () => {
    if (!engine) throw new Error('useEngine(): the engine exists only inside tests and hooks');
    return engine;
  };
}

export function fixture(path: string): string {
  return fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
}

export function fixtureText(path: string): string {
  return readFileSync(fixture(path), 'utf8');
}
