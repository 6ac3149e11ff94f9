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
import { overlayOptions } from '../../packages/runtime/src/sandbox/oci-config.js';

export type StoreOperation =
  | { readonly op: 'import'; readonly file: string; readonly reference: string }
  | { readonly op: 'load'; readonly file: string }
  | { readonly op: 'layers'; readonly reference: string }
  | { readonly op: 'remove'; readonly reference: string }
  | { readonly op: 'prune' }
  /** Mounts the layers as a container's root is mounted (in the user namespace) and lists `paths` in it. */
  | {
      readonly op: 'mount';
      readonly layerDirs: readonly string[];
      readonly work: string;
      readonly paths: readonly string[];
    };

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
      case 'mount': {
        const ns = await processUserNamespace();
        const options = overlayOptions(
          operation.layerDirs,
          `${operation.work}/upper`,
          `${operation.work}/work`,
          {
            userxattr: true,
          },
        );
        const script =
          'w=$1; o=$2; shift 2; mkdir -p "$w/upper" "$w/work" "$w/root" && mount -t overlay overlay -o "$o" "$w/root" || exit 1; ' +
          'for p; do echo "== $p"; if [ -d "$w/root/$p" ]; then ls -A "$w/root/$p"; else stat -c "%u:%g %a" "$w/root/$p"; fi 2>&1; done; umount "$w/root"';
        results.push({
          ok: await ns.run([
            'sh',
            '-c',
            script,
            'mount',
            operation.work,
            options.join(','),
            ...operation.paths,
          ]),
        });
        break;
      }
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
