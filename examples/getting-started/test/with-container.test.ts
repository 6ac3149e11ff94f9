import { fileURLToPath } from 'node:url';
import { withContainer } from 'cspec';
import { expect, test } from 'vitest';
import { greet } from './greeter.js';

const server = fileURLToPath(new URL('../server/greeter.pl', import.meta.url));

test('greets over TCP from a real container', async () => {
  await withContainer(
    {
      image: 'cspec/debian:bookworm',
      command: ['perl', '/srv/greeter.pl'],
      files: [{ target: '/srv/greeter.pl', source: server }],
      env: { GREETING_STYLE: 'formal' },
      ports: [4000],
      wait: { type: 'ports' },
      resources: { memoryBytes: 64 * 1024 * 1024 },
    },
    async (container) => {
      const answer = await greet(container.mappedPort(4000), 'Ada');
      expect(answer).toBe('hello, Ada (formal)');
    },
  );
});
