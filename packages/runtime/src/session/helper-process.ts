import { fileURLToPath } from 'node:url';

/**
 * Command line for one of the runtime's own helper processes (the session
 * watcher, the port forwarder of detached containers), given the URL of the
 * module next to it. From the built package it is plain `node file.js`; when
 * the runtime runs from its TypeScript sources (tests), the same file is
 * loaded through tsx.
 */
export function helperCommand(
  nodePath: string,
  besideUrl: string,
  name: string,
): { file: string; args: string[] } {
  const fromSource = besideUrl.endsWith('.ts');
  const script = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, besideUrl));
  return { file: nodePath, args: fromSource ? ['--import', 'tsx', script] : [script] };
}
