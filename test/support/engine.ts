import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine } from '@cspec/runtime';

export const IMAGE = 'cspec/debian:bookworm';

/** A fresh engine (its own session) for one test file. */
export function testEngine(): Promise<Engine> {
  return createEngine();
}

export function fixture(path: string): string {
  return fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
}

export function fixtureText(path: string): string {
  return readFileSync(fixture(path), 'utf8');
}
