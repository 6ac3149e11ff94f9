import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { formatAgo } from '../format.js';
import { formatSize } from '../parse-size.js';
import { UsageError } from '../usage-error.js';

export const imageLsCommand = defineCommand({
  name: 'image ls',
  summary: 'List cached images',
  usage: 'image ls [--json]',
  examples: ['cspec image ls', 'cspec image ls --json'],
  flags: [{ name: 'json', type: 'boolean', description: 'Print the images as JSON' }],
  async run({ args, out, engine }) {
    const images = await (await engine()).images.list();
    if (args.boolean('json')) {
      out.json(images);
      return EXIT.ok;
    }
    const now = Date.now();
    out.table(
      ['REFERENCE', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE'],
      images.map((i) =>
        i.problem === undefined
          ? [
              i.reference,
              i.id.replace(/^sha256:/, '').slice(0, 12),
              formatAgo(i.created, now),
              formatSize(i.sizeBytes),
              formatSize(i.sharedSizeBytes),
            ]
          : [i.reference, 'DAMAGED', '-', '-', '-'],
      ),
    );
    // Damaged images are listed (not hidden), with what is wrong and the repair.
    const damaged = images.filter((i) => i.problem !== undefined);
    for (const image of damaged) out.info(`warning: ${image.reference} is damaged: ${image.problem}`);
    if (damaged.length > 0) {
      out.info(
        'hint: cspec image check --repair removes what is damaged (or cspec image rm REFERENCE); then pull, load or build those images again',
      );
    }
    return EXIT.ok;
  },
});

export const imageRmCommand = defineCommand({
  name: 'image rm',
  summary: 'Remove cached images',
  usage: 'image rm REFERENCE...',
  examples: ['cspec image rm cspec/debian:bookworm'],
  flags: [],
  async run({ args, out, engine }) {
    if (args.positionals.length === 0) throw new UsageError('"cspec image rm" needs a REFERENCE', 'image rm');
    const e = await engine();
    for (const reference of args.positionals) {
      await e.images.remove(reference);
      out.line(reference);
    }
    return EXIT.ok;
  },
});

export const imageLoadCommand = defineCommand({
  name: 'image load',
  summary: 'Load images from a `docker save` archive or an OCI archive',
  usage: 'image load -i FILE',
  examples: [
    'cspec image load -i postgres.tar',
    'docker save postgres:16 -o pg.tar && cspec image load -i pg.tar',
  ],
  flags: [
    { name: 'input', short: 'i', type: 'string', placeholder: 'FILE', description: 'The archive to read' },
  ],
  async run({ args, out, engine, signal }) {
    const file = args.string('input') ?? args.positionals[0];
    if (!file) throw new UsageError('"cspec image load" needs an archive: -i FILE', 'image load');
    const images = await (await engine()).images.load(file, {
      signal,
      onProgress: (event) => out.info(`${event.phase}: ${event.message}`),
    });
    for (const image of images) {
      if (image.references.length === 0) out.line(`Loaded image ID: ${image.id}`);
      for (const reference of image.references) out.line(`Loaded image: ${reference}`);
    }
    return EXIT.ok;
  },
});

export const imageImportCommand = defineCommand({
  name: 'image import',
  summary: 'Make an image from a root filesystem tar (like docker import)',
  usage: 'image import [--cmd COMMAND] FILE REFERENCE',
  examples: [
    'cspec image import rootfs.tar my/rootfs:1',
    'docker export c1 > fs.tar && cspec image import --cmd bash fs.tar my/fs:1',
  ],
  flags: [
    {
      name: 'cmd',
      type: 'string',
      placeholder: 'COMMAND',
      description: 'Default command of the image, split on spaces (e.g. "sleep infinity")',
    },
  ],
  async run({ args, out, engine, signal }) {
    const [file, reference] = args.positionals;
    if (!file || !reference || args.positionals.length > 2) {
      throw new UsageError('"cspec image import" needs a FILE and a REFERENCE', 'image import');
    }
    const cmd = args.string('cmd')?.split(' ').filter(Boolean);
    const image = await (await engine()).images.importRootfs(file, reference, {
      signal,
      ...(cmd?.length ? { cmd } : {}),
    });
    out.line(image.id);
    return EXIT.ok;
  },
});

export const imageSaveCommand = defineCommand({
  name: 'image save',
  summary: 'Write images to a tar that docker load and cspec image load read',
  usage: 'image save -o FILE REFERENCE...',
  examples: [
    'cspec image save -o debian.tar cspec/debian:bookworm',
    'cspec image save -o d.tar cspec/debian:bookworm && docker load -i d.tar',
  ],
  flags: [
    { name: 'output', short: 'o', type: 'string', placeholder: 'FILE', description: 'The archive to write' },
  ],
  async run({ args, out, engine, signal }) {
    const file = args.string('output');
    if (!file) throw new UsageError('"cspec image save" needs -o FILE', 'image save');
    if (args.positionals.length === 0)
      throw new UsageError('"cspec image save" needs a REFERENCE', 'image save');
    await (await engine()).images.save(args.positionals, file, { signal });
    out.info(`saved ${args.positionals.join(', ')} to ${file}`);
    return EXIT.ok;
  },
});

export const imagePruneCommand = defineCommand({
  name: 'image prune',
  summary: 'Remove image content that no tag and no container needs',
  usage: 'image prune',
  examples: ['cspec image rm my/app:1 && cspec image prune'],
  flags: [],
  async run({ out, engine }) {
    const report = await (await engine()).pruneImages();
    out.line(
      `removed ${report.layersRemoved} layer(s) and ${report.blobsRemoved} blob(s), ${formatSize(report.bytesFreed)} freed`,
    );
    return EXIT.ok;
  },
});

export const systemDfCommand = defineCommand({
  name: 'system df',
  summary: 'Show the disk space images use',
  usage: 'system df [--json]',
  examples: ['cspec system df'],
  flags: [{ name: 'json', type: 'boolean', description: 'Print the figures as JSON' }],
  async run({ args, out, engine }) {
    const usage = await (await engine()).images.usage();
    if (args.boolean('json')) {
      out.json(usage);
      return EXIT.ok;
    }
    out.table(
      ['WHAT', 'COUNT', 'SIZE'],
      [
        ['tagged images', String(usage.images), ''],
        ['unpacked layers', String(usage.layers), formatSize(usage.layersBytes)],
        ['blobs (archives of layers, configs, manifests)', '', formatSize(usage.blobsBytes)],
      ],
    );
    return EXIT.ok;
  },
});
