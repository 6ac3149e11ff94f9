/**
 * Entry point that reads a container's overlay upper directory as root of a
 * rootless engine's user namespace (upper-in-namespace.ts), where its files
 * of subordinate ids with modes like 0600 can be read. argv[2] is the
 * request (JSON): `{op: "tar", upper}` writes the layer tar to stdout;
 * `{op: "changes", upper, lowerDirs}` writes the changes as JSON. A failure
 * goes to stderr with exit 1.
 */
import { pipeline } from 'node:stream/promises';
import { changesOf } from './upper-changes.js';
import { upperAsLayerTar } from './upper-tar.js';

type UpperRequest =
  | { readonly op: 'tar'; readonly upper: string }
  | { readonly op: 'changes'; readonly upper: string; readonly lowerDirs: readonly string[] };

const request = JSON.parse(process.argv[2] ?? '{}') as UpperRequest;
try {
  if (request.op === 'tar') {
    await pipeline(await upperAsLayerTar(request.upper, { userxattr: true }), process.stdout);
  } else {
    const changes = await changesOf(request.upper, request.lowerDirs, { userxattr: true });
    process.stdout.write(`${JSON.stringify(changes)}\n`);
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message ?? String(error)}\n`);
  process.exitCode = 1;
}
