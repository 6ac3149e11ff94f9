/**
 * Runs image store operations as whoever starts it (the rootless tests start
 * it as an unprivileged user through runuser) and prints one JSON line with
 * each operation's result or error, and the pid of the process's user
 * namespace holder (which must end with this process). argv[2]: the
 * operations, as JSON.
 * Directories come from CSPEC_DATA_DIR / CSPEC_RUN_DIR / CSPEC_TMPFS_DIR.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import type { FileSpec } from '../../packages/runtime/src/container/spec.js';
import { createBuildCache } from '../../packages/runtime/src/image/build/build-cache.js';
import { buildDockerfile } from '../../packages/runtime/src/image/build/builder.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import { processUserNamespace } from '../../packages/runtime/src/rootless/process-namespace.js';
import { overlayOptions } from '../../packages/runtime/src/sandbox/oci-config.js';
import { copyFilesIntoUpper } from '../../packages/runtime/src/sandbox/rootfs-files.js';
import { exportTree } from '../../packages/runtime/src/snapshot/export-tree.js';
import { createLayeredRoot } from '../../packages/runtime/src/snapshot/layered-root.js';
import { changesInNamespace } from '../../packages/runtime/src/snapshot/upper-in-namespace.js';
import { removeTree } from '../../packages/runtime/src/util/remove-tree.js';

export type StoreOperation =
  | { readonly op: 'import'; readonly file: string; readonly reference: string }
  | { readonly op: 'load'; readonly file: string }
  | { readonly op: 'layers'; readonly reference: string }
  | { readonly op: 'remove'; readonly reference: string }
  | { readonly op: 'prune' }
  | { readonly op: 'pull'; readonly reference: string }
  /** Files placed in a container's upper directory before it starts (a spec's `files`). */
  | {
      readonly op: 'files';
      readonly upper: string;
      readonly layerDirs: readonly string[];
      readonly files: readonly FileSpec[];
    }
  /** A Dockerfile build without RUN steps (no containers): COPY, ADD, WORKDIR. */
  | { readonly op: 'build'; readonly context: string; readonly tag: string }
  /** util/remove-tree.ts's removeTree, as teardown and the store remove things. */
  | { readonly op: 'removeTree'; readonly path: string }
  /**
   * Mounts the layers as a container's root is mounted (overlay with userxattr, in the user
   * namespace, upper and work directories in `work`), runs `script` in it as root of the
   * namespace (a container's changes), then lists `paths` in it.
   */
  | {
      readonly op: 'mount';
      readonly layerDirs: readonly string[];
      readonly work: string;
      readonly script?: string;
      readonly paths: readonly string[];
    }
  /** A container's changes (`work`/upper of `mount`) as a new image over `parent`. */
  | { readonly op: 'commit'; readonly upper: string; readonly parent: string; readonly reference: string }
  | { readonly op: 'diff'; readonly upper: string; readonly layerDirs: readonly string[] }
  /** `cspec export` of the layers with the changes on top, as a tar file. */
  | {
      readonly op: 'export';
      readonly upper: string;
      readonly layerDirs: readonly string[];
      readonly mountPoint: string;
      readonly file: string;
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
          'w=$1; o=$2; s=$3; shift 3; mkdir -p "$w/upper" "$w/work" "$w/root" && mount -t overlay overlay -o "$o" "$w/root" || exit 1; ' +
          '(cd "$w/root" && eval "$s") || { umount "$w/root"; exit 1; }; ' +
          'for p; do echo "== $p"; if [ -d "$w/root/$p" ]; then ls -A "$w/root/$p"; else stat -c "%u:%g %a" "$w/root/$p"; fi 2>&1; done; umount "$w/root"';
        results.push({
          ok: await ns.run([
            'sh',
            '-c',
            script,
            'mount',
            operation.work,
            options.join(','),
            operation.script ?? ':',
            ...operation.paths,
          ]),
        });
        break;
      }
      case 'commit': {
        const parent = await store.resolve(operation.parent, { pull: 'never' });
        await store.commit({
          upper: operation.upper,
          parent: { reference: parent.reference, id: parent.id },
          reference: operation.reference,
        });
        results.push({ ok: (await store.resolve(operation.reference, { pull: 'never' })).layerDirs });
        break;
      }
      case 'diff':
        results.push({
          ok: await changesInNamespace(
            await processUserNamespace(),
            resolveConfig().nodePath,
            operation.upper,
            operation.layerDirs,
          ),
        });
        break;
      case 'export': {
        await mkdir(operation.mountPoint, { recursive: true });
        const file = createWriteStream(operation.file);
        await exportTree(
          {
            upper: operation.upper,
            layerDirs: operation.layerDirs,
            mountPoint: operation.mountPoint,
            userNamespace: await processUserNamespace(),
          },
          file,
        );
        await new Promise((resolve) => file.end(resolve));
        results.push({ ok: true });
        break;
      }
      case 'build': {
        const { dataDir } = resolveConfig();
        const result = await buildDockerfile(
          {
            images: store,
            cache: createBuildCache(join(dataDir, 'build-cache')),
            tmpDir: join(dataDir, 'build-tmp'),
            runStep: () => Promise.reject(new Error('no RUN steps here')),
          },
          { context: operation.context, tag: operation.tag },
        );
        results.push({ ok: result.reference });
        break;
      }
      case 'files':
        await mkdir(operation.upper, { recursive: true });
        await copyFilesIntoUpper(
          operation.upper,
          createLayeredRoot([...operation.layerDirs].reverse()),
          operation.files,
        );
        results.push({ ok: true });
        break;
      case 'pull':
        results.push({ ok: await store.pull(operation.reference) });
        break;
      case 'removeTree':
        await removeTree(operation.path);
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
