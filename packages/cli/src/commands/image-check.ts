import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

export const imageCheckCommand = defineCommand({
  name: 'image check',
  summary: 'Verify the image store (every blob, tag and layer); --repair fixes what it can',
  usage: 'image check [--repair] [--json]',
  examples: ['cspec image check', 'cspec image check --repair'],
  flags: [
    {
      name: 'repair',
      type: 'boolean',
      description:
        'Remove damaged blobs and the tags of images that cannot be read, unpack missing layers again from their blobs',
    },
    { name: 'json', type: 'boolean', description: 'Print the report as JSON' },
  ],
  async run({ args, out, engine }) {
    const repair = args.boolean('repair');
    const report = await (await engine()).images.check({ repair });
    const unrepaired = report.problems.filter((p) => !p.repaired);
    if (args.boolean('json')) {
      out.json(report);
      return unrepaired.length > 0 ? EXIT.failed : EXIT.ok;
    }
    for (const p of report.problems) {
      const what = p.reference === undefined ? p.path : `${p.reference}: ${p.path}`;
      const done = repair ? (p.repaired ? ' — repaired' : ' — NOT repaired') : '';
      out.line(`${p.kind}  ${what}: ${p.detail}${done}`);
    }
    out.line(
      `checked ${report.blobsChecked} blob(s), ${report.tagsChecked} tag(s), ${report.layersChecked} layer(s): ${report.problems.length} problem(s)${repair ? `, ${report.problems.length - unrepaired.length} repaired` : ''}`,
    );
    if (unrepaired.length > 0 && !repair) out.info('hint: cspec image check --repair fixes them');
    return unrepaired.length > 0 ? EXIT.failed : EXIT.ok;
  },
});
