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
      ['REFERENCE', 'IMAGE ID', 'CREATED', 'SIZE'],
      images.map((i) => [
        i.reference,
        i.id.replace(/^sha256:/, '').slice(0, 12),
        formatAgo(i.created, now),
        formatSize(i.sizeBytes),
      ]),
    );
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
