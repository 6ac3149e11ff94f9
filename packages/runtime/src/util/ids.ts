import { randomBytes } from 'node:crypto';

/** 64 hex characters, like Docker container ids. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

const adjectives = ['brisk', 'calm', 'eager', 'fair', 'keen', 'lucid', 'merry', 'nimble', 'quiet', 'swift'];
const nouns = ['badger', 'crane', 'falcon', 'heron', 'lynx', 'otter', 'panda', 'raven', 'tapir', 'wren'];

/** A readable default name; the id suffix keeps it unique. */
export function defaultContainerName(id: string): string {
  const a = adjectives[Number.parseInt(id.slice(0, 2), 16) % adjectives.length];
  const n = nouns[Number.parseInt(id.slice(2, 4), 16) % nouns.length];
  return `${a}_${n}_${id.slice(4, 10)}`;
}
