import { fileURLToPath } from 'node:url';
import { GenericContainer, Wait } from 'cspec';
import { expect, test } from 'vitest';
import { greet } from './greeter.js';

const server = fileURLToPath(new URL('../server/greeter.pl', import.meta.url));

test('the same service through the testcontainers-style builder', async () => {
  await using container = await new GenericContainer('cspec/debian:bookworm')
    .withCommand(['perl', '/srv/greeter.pl'])
    .withCopyFilesToContainer([{ source: server, target: '/srv/greeter.pl' }])
    .withEnvironment({ GREETING_STYLE: 'casual' })
    .withExposedPorts(4000)
    .withWaitStrategy(Wait.forLogMessage('greeter ready'))
    .start();

  expect(await greet(container.getMappedPort(4000), 'Grace')).toBe('hello, Grace (casual)');
  const { exitCode, output } = await container.exec(['cat', '/etc/debian_version']);
  expect(exitCode).toBe(0);
  expect(output).toMatch(/^12\./);
});
