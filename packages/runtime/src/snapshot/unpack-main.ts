/**
 * Entry point of a layer unpack in a process of its own: a rootless engine
 * runs it as root inside its user namespace (unpack-in-namespace.ts), so the
 * layer's files get their owners. argv[2] is the request (JSON: `dest`,
 * `lowerDirs`, `label`, `userNamespace`); the layer's bytes come on stdin;
 * stdout gets one JSON line: `{"result": …}` or `{"error": {code, message, hint, errno}}`.
 */
import { isCspecError } from '../errors.js';
import { type NamespaceIds, unpackLayer } from './unpack-layer.js';

interface UnpackRequest {
  readonly dest: string;
  readonly lowerDirs: readonly string[];
  readonly label: string;
  readonly userNamespace: NamespaceIds;
}

const request = JSON.parse(process.argv[2] ?? '{}') as UnpackRequest;
try {
  const result = await unpackLayer(process.stdin, request.dest, {
    lowerDirs: request.lowerDirs,
    label: request.label,
    userNamespace: request.userNamespace,
  });
  process.stdout.write(`${JSON.stringify({ result })}\n`);
} catch (error) {
  const e = error as NodeJS.ErrnoException & { hint?: string };
  process.stdout.write(
    `${JSON.stringify({
      error: {
        code: isCspecError(error) ? error.code : undefined,
        message: e.message ?? String(error),
        hint: e.hint,
        errno: typeof e.code === 'string' && !isCspecError(error) ? e.code : undefined,
      },
    })}\n`,
  );
  process.exitCode = 1;
}
