import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const diffCommand = defineCommand({
  name: 'diff',
  summary: "List the changes to a container's filesystem (A added, C changed, D deleted)",
  usage: 'diff CONTAINER',
  examples: ['cspec diff web'],
  flags: [],
  async run({ args, out, engine }) {
    const [name, ...extra] = args.positionals;
    if (!name || extra.length) throw new UsageError('"cspec diff" needs exactly one CONTAINER', 'diff');
    const changes = await (await engine()).container(name).then((c) => c.diff());
    for (const change of changes) out.line(`${change.kind} ${change.path}`);
    return EXIT.ok;
  },
});

export const commitCommand = defineCommand({
  name: 'commit',
  summary: "Make an image of a container's image plus its changes",
  usage: 'commit [--cmd COMMAND] [--comment TEXT] CONTAINER REFERENCE',
  examples: ['cspec commit db my/db-with-schema:1', 'cspec commit --cmd "sleep infinity" web my/web:2'],
  flags: [
    {
      name: 'cmd',
      type: 'string',
      placeholder: 'COMMAND',
      description: 'Default command of the new image, split on spaces',
    },
    {
      name: 'comment',
      short: 'm',
      type: 'string',
      placeholder: 'TEXT',
      description: 'Recorded in the image history',
    },
  ],
  async run({ args, out, engine }) {
    const [name, reference, ...extra] = args.positionals;
    if (!name || !reference || extra.length) {
      throw new UsageError('"cspec commit" needs a CONTAINER and a REFERENCE', 'commit');
    }
    const cmd = args.string('cmd')?.split(' ').filter(Boolean);
    const comment = args.string('comment');
    const container = await (await engine()).container(name);
    const image = await container.commit(reference, {
      ...(cmd?.length ? { cmd } : {}),
      ...(comment ? { comment } : {}),
    });
    out.line(image.id);
    return EXIT.ok;
  },
});
