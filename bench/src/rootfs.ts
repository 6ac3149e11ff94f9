/**
 * Scenario `rootfs`: the time to prepare the root filesystem of an image
 * that is already cached, for a 10-layer image (cspec/debian:bookworm and 9
 * small layers on top) against the 1-layer cspec/debian:bookworm.
 *
 * "Prepare" is the root-filesystem part of starting a container, done with
 * the runtime's own functions in the order start-container.ts does it:
 *   1. resolve: `engine.images.resolve(image)` on a cache hit (tag ->
 *      manifest -> config -> each layer's directory, checked on disk);
 *   2. layers: check that the overlay options fit in a page and make sure
 *      every layer's short link exists (`ensureLayerLinks`);
 *   3. writable: create the writable layer's upper and work directories on
 *      tmpfs and the empty mount point;
 *   4. mount: the overlay mount of all layers with that writable layer on
 *      top, until it is there. runc makes this mount(2) call inside the
 *      container's new mount namespace; here util-linux `mount` makes it in
 *      a private mount namespace of an `unshare` process (so the host's mount
 *      table never sees it), which costs two process starts that runc does
 *      not pay. `unshare` running `true` is measured alongside, so the mount
 *      itself can be read as the difference.
 * "prepare" is the sum of the four, as measured (process starts included);
 * `preparedMs` is the same with the median of `unshare true` taken off the
 * mount step: an estimate of what a container start spends on its root,
 * where runc's mount is one system call. The OCI runtime's own work (namespaces,
 * the other mounts, the process) is not part of it; the start-to-exit of
 * `true` through `engine.run()` for both images is measured too, to show
 * what ten layers cost end to end. All contenders run interleaved.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { overlayOptions } from '../../packages/runtime/dist/sandbox/oci-config.js';
import { ensureLayerLinks, layerLinkPath } from '../../packages/runtime/dist/snapshot/layer-links.js';
import { assertOverlayFits } from '../../packages/runtime/dist/snapshot/overlay-limits.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const BASE = 'cspec/debian:bookworm';
const TEN = 'cspec-bench/ten-layers:1';
const STEPS = ['resolve', 'layers', 'writable', 'mount'] as const;
const FIXED_TIME = new Date('2026-01-01T00:00:00Z');

export interface RootfsResult {
  readonly scenario: 'rootfs';
  readonly images: { readonly [name: string]: { readonly reference: string; readonly layers: number } };
  /** `prepare` (the four steps) per image, `unshare true` (the mount step's process overhead), `run true` per image. */
  readonly results: Record<string, Summary>;
  /** Medians of each step of `prepare`, per image. */
  readonly stepsMs: Record<string, Record<(typeof STEPS)[number], number>>;
  /** Per image: resolve + layers + writable + (mount − `unshare true`), medians. */
  readonly preparedMs: Record<string, number>;
  readonly goalMs: 20;
  /** prepare 10 layers / prepare 1 layer, medians. */
  readonly ratio: number;
}

/** `cspec-bench/ten-layers:1`: the base image and 9 layers of one small file each. */
async function tenLayerImage(engine: Awaited<ReturnType<typeof createEngine>>, work: string): Promise<void> {
  let parent = BASE;
  for (let i = 1; i <= 9; i++) {
    const upper = join(work, `layer-${i}`);
    await mkdir(join(upper, 'opt', 'bench'), { recursive: true });
    await writeFile(join(upper, 'opt', 'bench', `layer-${i}.txt`), `layer ${i}\n`);
    // Fixed times: the same layers every run, so repeated runs reuse them.
    for (const path of [`opt/bench/layer-${i}.txt`, 'opt/bench', 'opt']) {
      await utimes(join(upper, path), FIXED_TIME, FIXED_TIME);
    }
    const { manifestDigest } = await engine.images.derive({
      parent,
      step: { upper, createdBy: `bench: layer ${i} of 9 on ${BASE}` },
    });
    parent = `cspec-bench/ten-layers@${manifestDigest}`;
  }
  await engine.images.tag(TEN, parent.split('@')[1]!);
}

export async function rootfs(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<RootfsResult> {
  const engine = await createEngine();
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-rootfs-'));
  // Writable layers on tmpfs, as containers have them by default.
  const shm = await mkdtemp('/dev/shm/cspec-bench-rootfs-');
  try {
    await engine.images.resolve(BASE);
    options.log(`rootfs: making ${TEN}`);
    await tenLayerImage(engine, work);
    const layers = {
      '1 layer': (await engine.images.resolve(BASE)).layerDirs.length,
      '10 layers': (await engine.images.resolve(TEN)).layerDirs.length,
    };
    if (layers['1 layer'] !== 1 || layers['10 layers'] !== 10) {
      throw new Error(`expected images of 1 and 10 layers, got ${JSON.stringify(layers)}`);
    }
    const stepsOf = () => Object.fromEntries(STEPS.map((s) => [s, [] as number[]]));
    const steps: Record<string, Record<string, number[]>> = { '10 layers': stepsOf(), '1 layer': stepsOf() };
    let n = 0;
    const prepare = (name: string, reference: string) => async () => {
      const dir = join(shm, String(n++));
      const upper = join(dir, 'upper');
      const workDir = join(dir, 'work');
      const root = join(dir, 'rootfs');
      const t0 = performance.now();
      const image = await engine.images.resolve(reference);
      const t1 = performance.now();
      assertOverlayFits(
        {
          lowerDirs: image.layerDirs.map(layerLinkPath),
          otherOptions: [`upperdir=${upper}`, `workdir=${workDir}`],
        },
        `image ${reference}`,
      );
      const lower = await ensureLayerLinks(image.layerDirs);
      const t2 = performance.now();
      await mkdir(dir);
      await Promise.all([mkdir(upper), mkdir(workDir), mkdir(root)]);
      const t3 = performance.now();
      const mountOptions = overlayOptions(lower, upper, workDir).join(',');
      await run('unshare', [
        '--mount',
        '--propagation',
        'private',
        'mount',
        '-t',
        'overlay',
        'overlay',
        '-o',
        mountOptions,
        root,
      ]);
      const t4 = performance.now();
      const mine = steps[name]!;
      for (const [step, ms] of [
        ['resolve', t1 - t0],
        ['layers', t2 - t1],
        ['writable', t3 - t2],
        ['mount', t4 - t3],
      ] as const)
        mine[step]!.push(ms);
      await rm(dir, { recursive: true, force: true });
      return t4 - t0;
    };
    const runTrue = (reference: string) => async () => {
      const c = await engine.run({ image: reference, command: ['true'] });
      await c.wait();
      await c.remove();
    };
    const samples = await interleave(
      {
        'prepare, 10 layers': prepare('10 layers', TEN),
        'prepare, 1 layer': prepare('1 layer', BASE),
        // The process starts inside the mount step, without the mount.
        'unshare true': async () => {
          await run('unshare', ['--mount', '--propagation', 'private', 'true']);
        },
        'run true, 10 layers': runTrue(TEN),
        'run true, 1 layer': runTrue(BASE),
      },
      options,
    );
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    // The warm-up rounds' steps are dropped like their totals.
    const stepsMs = Object.fromEntries(
      Object.entries(steps).map(([name, bySteps]) => [
        name,
        Object.fromEntries(
          Object.entries(bySteps).map(([step, ms]) => [step, summarize(ms.slice(options.warmup)).medianMs]),
        ),
      ]),
    ) as RootfsResult['stepsMs'];
    const overhead = results['unshare true']!.medianMs;
    const preparedMs = Object.fromEntries(
      Object.entries(stepsMs).map(([name, st]) => [
        name,
        Math.round((st.resolve + st.layers + st.writable + Math.max(0, st.mount - overhead)) * 10) / 10,
      ]),
    );
    const ratio =
      Math.round((results['prepare, 10 layers']!.medianMs / results['prepare, 1 layer']!.medianMs) * 1000) /
      1000;
    return {
      scenario: 'rootfs',
      images: {
        '1 layer': { reference: BASE, layers: 1 },
        '10 layers': { reference: TEN, layers: 10 },
      },
      results,
      stepsMs,
      preparedMs,
      goalMs: 20,
      ratio,
    };
  } finally {
    await engine.images.remove(TEN).catch(() => {});
    await engine.close();
    await rm(work, { recursive: true, force: true });
    await rm(shm, { recursive: true, force: true });
  }
}
