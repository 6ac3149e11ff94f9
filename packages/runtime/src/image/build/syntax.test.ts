import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './dockerfile.js';
import { parseDockerignore } from './dockerignore.js';
import { expand, keyValues, splitWords } from './words.js';

describe('parseDockerfile', () => {
  it('reads instructions with their lines, flags and forms; comments and continuations go', () => {
    const { instructions } = parseDockerfile(
      [
        '# a comment',
        'FROM cspec/debian:bookworm AS build',
        '',
        'RUN apt-get update && \\',
        '  # a comment inside',
        '  echo done',
        'COPY --from=build --chown=1000:1000 /out /app/',
        'CMD ["node", "server.js"]',
        'run echo lower case',
      ].join('\n'),
    );
    expect(instructions.map((i) => [i.line, i.keyword, i.flags, i.text, i.json])).toEqual([
      [2, 'FROM', {}, 'cspec/debian:bookworm AS build', undefined],
      [4, 'RUN', {}, 'apt-get update &&  echo done', undefined],
      [7, 'COPY', { from: 'build', chown: '1000:1000' }, '/out /app/', undefined],
      [8, 'CMD', {}, '["node", "server.js"]', ['node', 'server.js']],
      [9, 'RUN', {}, 'echo lower case', undefined],
    ]);
  });

  it('honours # escape=`', () => {
    const { instructions, escapeChar } = parseDockerfile('# escape=`\nFROM scratch\nRUN a `\n  b\n');
    expect(escapeChar).toBe('`');
    expect(instructions[1]?.text).toBe('a  b');
  });

  it('names the line of an unknown instruction or a heredoc', () => {
    expect(() => parseDockerfile('FROM scratch\nRUNN true\n', 'app.Dockerfile')).toThrow(
      /^app.Dockerfile:2: unknown instruction "RUNN"/,
    );
    expect(() => parseDockerfile('FROM scratch\nRUN <<EOF\necho\nEOF\n')).toThrow(
      /^Dockerfile:2: RUN with a heredoc/,
    );
  });
});

describe('RUN --network', () => {
  it('takes default, none and host', () => {
    const { instructions } = parseDockerfile(
      'FROM scratch\nRUN --network=host apt-get update\nRUN --network=none true\nRUN --network=default true\n',
    );
    expect(instructions.slice(1).map((i) => [i.flags, i.text])).toEqual([
      [{ network: 'host' }, 'apt-get update'],
      [{ network: 'none' }, 'true'],
      [{ network: 'default' }, 'true'],
    ]);
  });

  it('names the line of another mode, a missing value or another RUN flag', () => {
    expect(() => parseDockerfile('FROM scratch\n\nRUN --network=bridge true\n')).toThrow(
      /^Dockerfile:3: RUN --network=bridge: unknown network mode "bridge"$/,
    );
    expect(() => parseDockerfile('FROM scratch\nRUN --network host true\n', 'x/Dockerfile')).toThrow(
      /^x\/Dockerfile:2: RUN --network needs a value$/,
    );
    expect(() => parseDockerfile('FROM scratch\nRUN --mount=type=cache,target=/x true\n')).toThrow(
      /^Dockerfile:2: RUN --mount is not supported$/,
    );
    const error = (() => {
      try {
        parseDockerfile('FROM scratch\nRUN --network=bridge true\n');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({
      code: 'CSPEC_IMAGE_BUILD_FAILED',
      hint: 'use --network=default|none|host',
    });
  });
});

describe('words', () => {
  const vars = new Map([
    ['NAME', 'cspec'],
    ['EMPTY', ''],
  ]);

  it('expands $X, ${X}, ${X:-d}, ${X:+a} and leaves escaped or single-quoted $ alone', () => {
    expect(expand('$NAME/${NAME}-x', vars)).toBe('cspec/cspec-x');
    expect(expand('${MISSING:-def} ${EMPTY:-def} ${EMPTY-def} ${NAME:+alt} ${MISSING:+alt}.', vars)).toBe(
      'def def  alt .',
    );
    expect(expand("\\$NAME '$NAME'", vars)).toBe("\\$NAME '$NAME'");
  });

  it('splits words on unquoted spaces and removes quotes and escapes', () => {
    expect(splitWords('a "b c" \'d $e\' f\\ g')).toEqual(['a', 'b c', 'd $e', 'f g']);
  });

  it('reads KEY=value pairs and the old KEY value form', () => {
    expect(keyValues('A=1 B="two words" C=')).toEqual([
      ['A', '1'],
      ['B', 'two words'],
      ['C', ''],
    ]);
    expect(keyValues('GREETING hello world')).toEqual([['GREETING', 'hello world']]);
  });
});

describe('.dockerignore', () => {
  const ignored = parseDockerignore(
    ['# comment', 'node_modules', '*.log', '!keep.log', '/secret', '**/tmp', 'docs/*.md', ''].join('\n'),
  );

  it.each([
    ['node_modules', true],
    ['node_modules/x/index.js', true],
    ['app.log', true],
    ['keep.log', false],
    ['sub/app.log', false],
    ['secret', true],
    ['a/b/tmp/file', true],
    ['tmp', true],
    ['docs/readme.md', true],
    ['docs/deep/readme.md', false],
    ['src/index.ts', false],
  ])('%s excluded: %s', (path, excluded) => {
    expect(ignored(path)).toBe(excluded);
  });
});
