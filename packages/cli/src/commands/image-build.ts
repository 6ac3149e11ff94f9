import type { BuildProgress } from '@cspec/runtime';
import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';

/** Plain lines per step, as `docker build --progress=plain` does; RUN output indented. */
function reporter(out: Output, quiet: boolean): (event: BuildProgress) => void {
  return (event) => {
    switch (event.type) {
      case 'step':
        out.info(`#${event.index}/${event.total} (line ${event.line}) ${event.instruction}`);
        break;
      case 'cached':
        out.info(`#${event.index} CACHED`);
        break;
      case 'done':
        out.info(`#${event.index} DONE ${(event.ms / 1000).toFixed(1)}s`);
        break;
      case 'output':
        if (!quiet && event.text.trim())
          out.rawError(event.text.replace(/^/gm, `#${event.index}   `).replace(/\n?$/, '\n'));
        break;
      case 'warning':
        out.info(`warning: ${event.message}`);
        break;
    }
  };
}

export const imageBuildCommand = defineCommand({
  name: 'image build',
  summary: 'Build an image from a Dockerfile',
  usage: 'image build [-t NAME] [-f DOCKERFILE] [--build-arg K=V]... [--target STAGE] [-q] CONTEXT',
  examples: [
    'cspec image build -t my/app:1 .',
    'cspec image build -t my/app:test -f docker/Dockerfile --build-arg NODE_ENV=test --target test .',
  ],
  flags: [
    { name: 'tag', short: 't', type: 'string', placeholder: 'NAME', description: 'Tag the image NAME[:TAG]' },
    {
      name: 'file',
      short: 'f',
      type: 'string',
      placeholder: 'DOCKERFILE',
      description: 'The Dockerfile (default: CONTEXT/Dockerfile)',
    },
    {
      name: 'build-arg',
      type: 'strings',
      placeholder: 'K=V',
      description: 'A value for an ARG of the Dockerfile',
    },
    { name: 'target', type: 'string', placeholder: 'STAGE', description: 'Build up to this stage' },
    { name: 'quiet', short: 'q', type: 'boolean', description: "Do not print RUN steps' output" },
  ],
  async run({ args, out, engine, signal }) {
    const [context, ...extra] = args.positionals;
    if (!context || extra.length) {
      throw new UsageError('"cspec image build" needs exactly one CONTEXT directory, e.g. .', 'image build');
    }
    const buildArgs: Record<string, string> = {};
    for (const pair of args.strings('build-arg')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid --build-arg "${pair}" — use NAME=value`, 'image build');
      buildArgs[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const file = args.string('file');
    const tag = args.string('tag');
    const target = args.string('target');
    const started = performance.now();
    const result = await (await engine()).build({
      context,
      ...(file ? { dockerfile: file } : {}),
      ...(tag ? { tag } : {}),
      ...(target ? { target } : {}),
      buildArgs,
      signal,
      onProgress: reporter(out, args.boolean('quiet')),
    });
    const cached = result.steps.filter((s) => s.cached).length;
    out.info(
      `built ${result.reference ?? 'an untagged image'} in ${((performance.now() - started) / 1000).toFixed(1)}s (${cached} of ${result.steps.length} steps cached)`,
    );
    out.line(result.id);
    return EXIT.ok;
  },
});
