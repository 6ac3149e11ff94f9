import { createHash } from 'node:crypto';
import { pack } from 'tar-stream';
import { hostArchitecture } from '../../packages/runtime/src/image/oci.js';

/** Image archives made byte by byte, for the tests that load them. */
export type TarEntry = {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
};

export async function tarOf(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  // Read while writing: pack() holds an entry's callback until its data is consumed.
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ mode: 0o644, mtime: new Date(1_600_000_000_000), ...header }, content ?? '', (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }
  p.finalize();
  await reading;
  return Buffer.concat(chunks);
}

export const digest = (bytes: Buffer | string) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** An image config for this host whose layers have these diff ids. */
export function imageConfig(diffIds: readonly string[], cmd: readonly string[] = ['sh']): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: hostArchitecture(),
      os: 'linux',
      config: { Cmd: cmd, Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
}

/** What `docker save` writes: manifest.json, the config and plain layer tars. */
export function dockerArchive(
  layers: readonly Buffer[],
  options: {
    readonly repoTag: string;
    readonly diffIds?: readonly string[];
    readonly cmd?: readonly string[];
  },
): Promise<Buffer> {
  const config = imageConfig(options.diffIds ?? layers.map((l) => digest(l)), options.cmd);
  const configName = `${digest(config).slice(7)}.json`;
  return tarOf([
    { name: configName, content: config },
    ...layers.map((l, i) => ({ name: `layer${i}/layer.tar`, content: l })),
    {
      name: 'manifest.json',
      content: JSON.stringify([
        {
          Config: configName,
          RepoTags: [options.repoTag],
          Layers: layers.map((_, i) => `layer${i}/layer.tar`),
        },
      ]),
    },
  ]);
}
