/**
 * Runs image store operations as whoever starts it (the rootless tests start
 * it as an unprivileged user through runuser) and prints one JSON line with
 * each operation's result or error, and the pid of the process's user
 * namespace holder (which must end with this process). argv[2]: the
 * operations, as JSON.
 * Directories come from CSPEC_DATA_DIR / CSPEC_RUN_DIR / CSPEC_TMPFS_DIR.
 */
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import { processUserNamespace } from '../../packages/runtime/src/rootless/process-namespace.js';

export type StoreOperation =
  | { readonly op: 'import'; readonly file: string; readonly reference: string }
  | { readonly op: 'load'; readonly file: string }
  | { readonly op: 'layers'; readonly reference: string }
  | { readonly op: 'remove'; readonly reference: string }
  | { readonly op: 'prune' };

export type OperationResult =
  | { readonly ok: unknown }
  | { readonly error: { readonly code?: string; readonly message: string; readonly hint?: string } };

const store = createImageStore(resolveConfig());
const results: OperationResult[] = [];
for (const operation of JSON.parse(process.argv[2] ?? '[]') as StoreOperation[]) {
  try {
    switch (operation.op) {
      case 'import':
        results.push({ ok: await store.importRootfs(operation.file, operation.reference) });
        break;
      case 'load':
        results.push({ ok: await store.load(operation.file) });
        break;
      case 'layers':
        results.push({ ok: (await store.resolve(operation.reference, { pull: 'never' })).layerDirs });
        break;
      case 'remove':
        await store.remove(operation.reference);
        results.push({ ok: true });
        break;
      case 'prune':
        results.push({ ok: await store.prune({ layerDirsInUse: new Set(), graceMs: 0 }) });
        break;
    }
  } catch (error) {
    const e = error as { code?: string; message: string; hint?: string };
    results.push({ error: { code: e.code, message: e.message, hint: e.hint } });
  }
}
const holder = (await processUserNamespace()).pid;
process.stdout.write(`${JSON.stringify({ results, holder })}\n`);
