/**
 * The Node that runs a suite inside containers: the host's own by default,
 * or the release `--node` asks for (see @cspec/runtime's nodeRelease).
 */
import { isCspecError, NODE_VERSION, nodeRelease } from '@cspec/runtime';
import { UsageError } from '../usage-error.js';

export function checkNodeVersion(text: string): string {
  if (!NODE_VERSION.test(text)) {
    throw new UsageError(
      `invalid --node "${text}" — use a major version such as 22, or a full version such as 22.12.0`,
      'test',
    );
  }
  return text;
}

/** A path to the Node binary for `version` (undefined: the one running cspec). */
export async function nodeBinary(
  version: string | undefined,
  options: { readonly dataDir: string; readonly signal: AbortSignal; readonly log: (m: string) => void },
): Promise<string> {
  if (version === undefined) return process.execPath;
  try {
    return (await nodeRelease({ ...options, version })).binary;
  } catch (error) {
    if (isCspecError(error) && !options.signal.aborted) {
      throw new UsageError(`${error.message}${error.hint ? ` — ${error.hint}` : ''}`, 'test');
    }
    throw error;
  }
}
