/** `cspec image pull` and `cspec image push`: thin commands over images.pull / images.push. */
import type { ImageProgress } from '@cspec/runtime';
import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { formatSize } from '../parse-size.js';
import { UsageError } from '../usage-error.js';

/**
 * Progress as plain lines (a line per layer started and finished); on a
 * terminal, the byte counts of the layers in flight on one live line.
 */
export function progressPrinter(out: Output): { onProgress(event: ImageProgress): void; end(): void } {
  const inFlight = new Map<string, { bytes: number; total: number }>();
  let live = false;
  const clearLive = () => {
    if (live) out.rawError('\r\u001b[K');
    live = false;
  };
  return {
    onProgress(event) {
      const counted = event.bytes !== undefined && event.totalBytes !== undefined && event.item !== undefined;
      if (counted && (event.phase === 'download' || event.phase === 'upload')) {
        const item = event.item!;
        const done = event.bytes === event.totalBytes && event.bytes! > 0;
        const started = event.bytes === 0 && !inFlight.has(item);
        inFlight.set(item, { bytes: event.bytes!, total: event.totalBytes! });
        if (done) inFlight.delete(item);
        if (out.interactive) {
          clearLive();
          if (done)
            out.info(
              `${event.phase === 'download' ? 'downloaded' : 'uploaded'} ${item} (${formatSize(event.totalBytes!)})`,
            );
          if (inFlight.size > 0) {
            const parts = [...inFlight].map(
              ([id, p]) => `${id} ${formatSize(p.bytes)}/${formatSize(p.total)}`,
            );
            out.rawError(`${event.phase === 'download' ? 'downloading' : 'uploading'} ${parts.join('  ')}`);
            live = true;
          }
          return;
        }
        if (started)
          out.info(
            `${event.phase === 'download' ? 'downloading' : 'uploading'} ${item} (${formatSize(event.totalBytes!)})`,
          );
        if (done) out.info(`${event.phase === 'download' ? 'downloaded' : 'uploaded'} ${item}`);
        return;
      }
      clearLive();
      out.info(`${event.phase}: ${event.message}`);
    },
    end: clearLive,
  };
}

export const imagePullCommand = defineCommand({
  name: 'image pull',
  summary: 'Download an image from a registry',
  usage: 'image pull [--platform OS/ARCH[/VARIANT]] REFERENCE',
  examples: [
    'cspec image pull 127.0.0.1:5000/debian:bookworm',
    'cspec image pull --platform linux/arm64 ghcr.io/acme/app:1.2',
    'CSPEC_REGISTRY_MIRROR=http://127.0.0.1:5000 cspec image pull postgres:16',
  ],
  flags: [
    {
      name: 'platform',
      type: 'string',
      placeholder: 'OS/ARCH',
      description: "Which image of a multi-platform index (default: linux and this host's architecture)",
    },
  ],
  async run({ args, out, engine, signal }) {
    const [reference, ...extra] = args.positionals;
    if (!reference || extra.length > 0) {
      throw new UsageError('"cspec image pull" needs exactly one REFERENCE', 'image pull');
    }
    const platform = args.string('platform');
    const progress = progressPrinter(out);
    try {
      const report = await (await engine()).images.pull(reference, {
        signal,
        onProgress: progress.onProgress,
        ...(platform !== undefined ? { platform } : {}),
      });
      progress.end();
      out.info(
        report.layersDownloaded === 0
          ? `${report.reference}: image is up to date`
          : `${report.reference}: downloaded ${report.layersDownloaded} of ${report.layers} layers, ${formatSize(report.bytesDownloaded)}`,
      );
      out.line(`Digest: ${report.manifestDigest}`);
      out.line(`Image ID: ${report.id}`);
      out.line(report.reference);
      return EXIT.ok;
    } finally {
      progress.end();
    }
  },
});

export const imagePushCommand = defineCommand({
  name: 'image push',
  summary: 'Upload a cached image to a registry',
  usage: 'image push [SOURCE] REFERENCE',
  examples: [
    'cspec image push 127.0.0.1:5000/my/app:1',
    'cspec image push cspec/debian:bookworm 127.0.0.1:5000/cspec/debian:bookworm',
  ],
  flags: [],
  async run({ args, out, engine, signal }) {
    const positionals = args.positionals;
    if (positionals.length === 0 || positionals.length > 2) {
      throw new UsageError(
        '"cspec image push" needs a REFERENCE (and optionally the cached SOURCE before it)',
        'image push',
      );
    }
    const target = positionals.at(-1)!;
    const source = positionals.length === 2 ? positionals[0] : undefined;
    const progress = progressPrinter(out);
    try {
      const report = await (await engine()).images.push(target, {
        signal,
        onProgress: progress.onProgress,
        ...(source !== undefined ? { source } : {}),
      });
      progress.end();
      out.info(
        `${report.reference}: uploaded ${report.blobsUploaded} blob(s), ${formatSize(report.bytesUploaded)}; ${report.blobsSkipped} already there`,
      );
      out.line(`Digest: ${report.manifestDigest}`);
      return EXIT.ok;
    } finally {
      progress.end();
    }
  },
});
