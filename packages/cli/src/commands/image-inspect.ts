import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { formatAgo } from '../format.js';
import { historyRows } from '../images/history-rows.js';
import { imageTree, renderTree, subtreeOf } from '../images/image-tree.js';
import { formatSize } from '../parse-size.js';
import { UsageError } from '../usage-error.js';

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

export const imageHistoryCommand = defineCommand({
  name: 'image history',
  summary: 'Show the steps that made an image, newest first (like docker history)',
  usage: 'image history [--no-trunc] [--json] REFERENCE',
  examples: ['cspec image history cspec/postgres:15', 'cspec image history --json my/app:1'],
  flags: [
    { name: 'no-trunc', type: 'boolean', description: 'Show each step in full' },
    { name: 'json', type: 'boolean', description: 'Print the steps as JSON' },
  ],
  async run({ args, out, engine }) {
    const [reference, ...extra] = args.positionals;
    if (!reference || extra.length) {
      throw new UsageError('"cspec image history" needs exactly one REFERENCE', 'image history');
    }
    const rows = historyRows(await (await engine()).images.inspect(reference));
    if (args.boolean('json')) {
      out.json(rows);
      return EXIT.ok;
    }
    const now = Date.now();
    const full = args.boolean('no-trunc');
    const step = (text: string) => {
      const line = text.replace(/\s+/g, ' ');
      return full || line.length <= 60 ? line : `${line.slice(0, 59)}…`;
    };
    out.table(
      ['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      rows.map((r) => [
        r.layer ? short(r.layer) : '-',
        r.created ? formatAgo(r.created, now) : '-',
        step(r.createdBy),
        formatSize(r.size),
        r.comment,
      ]),
    );
    return EXIT.ok;
  },
});

export const imageTreeCommand = defineCommand({
  name: 'image tree',
  summary: 'Show cached images as a tree of the layers they share',
  usage: 'image tree [--json] [REFERENCE]',
  examples: ['cspec image tree', 'cspec image tree cspec/debian:bookworm'],
  flags: [{ name: 'json', type: 'boolean', description: 'Print the tree as JSON' }],
  async run({ args, out, engine }) {
    const [reference, ...extra] = args.positionals;
    if (extra.length) throw new UsageError('"cspec image tree" takes at most one REFERENCE', 'image tree');
    const e = await engine();
    let roots = imageTree(
      await Promise.all((await e.images.list()).map((i) => e.images.inspect(i.reference))),
    );
    if (reference) {
      const wanted = (await e.images.inspect(reference)).reference;
      roots = subtreeOf(roots, wanted);
    }
    if (args.boolean('json')) {
      out.json(roots);
      return EXIT.ok;
    }
    for (const line of renderTree(
      roots,
      (n) =>
        `${n.references.join(', ')}  ${short(n.id)}  +${n.addedLayers} layer${n.addedLayers === 1 ? '' : 's'}, ${formatSize(n.addedBytes)}`,
    )) {
      out.line(line);
    }
    return EXIT.ok;
  },
});
