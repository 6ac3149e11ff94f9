import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: "Write a container's filesystem (its image plus its changes) as a tar, like docker export",
  usage: 'export [-o FILE] CONTAINER',
  examples: ['cspec export -o web.tar web', 'cspec export web | tar -t | head'],
  flags: [
    {
      name: 'output',
      short: 'o',
      type: 'string',
      placeholder: 'FILE',
      description: 'Write to FILE (written whole, then renamed into place) instead of stdout',
    },
  ],
  async run({ args, out, engine, signal }) {
    const [name, ...extra] = args.positionals;
    if (!name || extra.length) throw new UsageError('"cspec export" needs exactly one CONTAINER', 'export');
    const file = args.string('output');
    if (!file && out.binary.isTTY) {
      throw new UsageError(
        'refusing to write a tar to the terminal — redirect stdout (> FILE) or use -o FILE',
        'export',
      );
    }
    const container = await (await engine()).container(name);
    await container.export(file ?? out.binary, { signal });
    return EXIT.ok;
  },
});
