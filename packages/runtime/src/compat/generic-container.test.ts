import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ContainerSpec } from '../container/spec.js';
import type {
  Container,
  Engine,
  ExecOptions,
  NetworkInfo,
  RunOptions,
  StopOptions,
} from '../engine/engine.js';
import { isCspecError } from '../errors.js';
import { GenericContainer, parseTmpfs } from './generic-container.js';
import { Network, type StartedNetwork } from './network.js';
import { Wait } from './wait.js';

/** Records what the builder asks of the engine; no kernel involved. */
function fakeEngine(options: { followUntilAborted?: boolean } = {}) {
  const followUntilAborted = options.followUntilAborted ?? false;
  const calls: string[] = [];
  const runs: { spec: ContainerSpec; options: RunOptions | undefined }[] = [];
  const execs: { command: readonly string[]; options: ExecOptions | undefined }[] = [];
  const networks: string[] = [];
  const container = {
    id: 'abcdef0123456789abcdef',
    name: 'fake-1',
    host: '127.0.0.1',
    ports: { 80: 40080, 443: 40443 } as Record<number, number>,
    ipAddress: '10.88.0.2',
    mappedPort(port: number) {
      const host = this.ports[port];
      if (host === undefined) throw new Error(`port ${port} is not published`);
      return host;
    },
    async exec(command: readonly string[], options?: ExecOptions) {
      execs.push({ command, options });
      return { exitCode: 3, stdout: 'out\n', stderr: 'err\n', output: 'out\nerr\n' };
    },
    async *logs(options?: { follow?: boolean; tail?: number; signal?: AbortSignal }) {
      calls.push(`logs follow=${options?.follow} tail=${options?.tail}`);
      try {
        yield 'line 1\n';
        yield 'line 2\n';
        if (followUntilAborted) {
          const signal = options?.signal;
          await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
          calls.push('logs aborted');
        }
      } finally {
        calls.push('logs closed');
      }
    },
    async stop(options?: StopOptions) {
      calls.push(`stop ${options?.timeoutMs}`);
      return { exitCode: 143, oomKilled: false };
    },
    async restart(options?: StopOptions) {
      calls.push(`restart ${options?.timeoutMs}`);
    },
    async remove() {
      calls.push('remove');
    },
  };
  const engine = {
    kind: 'native',
    async run(spec: ContainerSpec, options?: RunOptions) {
      runs.push({ spec, options });
      return container as unknown as Container;
    },
    async createNetwork(name?: string): Promise<NetworkInfo> {
      const n = name ?? 'net-generated';
      networks.push(n);
      return { name: n, subnet: '10.88.0.0/24', gateway: '10.88.0.1' };
    },
    async removeNetwork(name: string) {
      calls.push(`removeNetwork ${name}`);
    },
  } as unknown as Engine;
  return { engine, calls, runs, execs, networks };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('GenericContainer → ContainerSpec', () => {
  it('a bare image is just the image', () => {
    expect(new GenericContainer('cspec/debian:bookworm').toSpec()).toEqual({
      image: 'cspec/debian:bookworm',
    });
  });

  it('maps ports (plain, "n/tcp" and bound) and waits for them by default', () => {
    const spec = new GenericContainer('img')
      .withExposedPorts(80, '443/tcp')
      .withExposedPorts({ container: 5432, host: 15432 })
      .toSpec();
    expect(spec.ports).toEqual([80, 443, { container: 5432, host: 15432 }]);
    expect(spec.wait).toEqual({ type: 'ports' });
    expect(() => new GenericContainer('img').withExposedPorts('53/udp' as '53/tcp')).toThrow(
      /TCP ports only/,
    );
  });

  it('an explicit wait strategy replaces the default one and brings its timeout', () => {
    const spec = new GenericContainer('img')
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forLogMessage('up').withStartupTimeout(1234))
      .toSpec();
    expect(spec.wait).toEqual({ type: 'log', pattern: 'up', times: 1 });
    expect(spec.startupTimeoutMs).toBe(1234);
    const both = new GenericContainer('img')
      .withStartupTimeout(999)
      .withWaitStrategy(Wait.forLogMessage('up').withStartupTimeout(1234))
      .toSpec();
    expect(both.startupTimeoutMs).toBe(999);
  });

  it('maps env (merged), command, entrypoint, user, working dir, name, hostname and labels', () => {
    const spec = new GenericContainer('img')
      .withEnvironment({ A: '1', B: '2' })
      .withEnvironment({ B: '3' })
      .withCommand(['sh', '-c', 'echo hi'])
      .withEntrypoint(['/entry'])
      .withUser('daemon')
      .withWorkingDir('/srv')
      .withName('svc-1')
      .withHostname('svc')
      .withLabels({ team: 'a' })
      .withLabels({ tier: 'db' })
      .toSpec();
    expect(spec).toEqual({
      image: 'img',
      env: { A: '1', B: '3' },
      command: ['sh', '-c', 'echo hi'],
      entrypoint: ['/entry'],
      user: 'daemon',
      workingDir: '/srv',
      name: 'svc-1',
      hostname: 'svc',
      labels: { team: 'a', tier: 'db' },
    });
  });

  it('maps bind mounts with their mode, resolving relative sources', () => {
    const spec = new GenericContainer('img')
      .withBindMounts([
        { source: '/host/a', target: '/a' },
        { source: '/host/b', target: '/b', mode: 'ro' },
        { source: 'rel', target: '/c', mode: 'rw' },
      ])
      .toSpec();
    expect(spec.mounts).toEqual([
      { type: 'bind', source: '/host/a', target: '/a', readonly: false },
      { type: 'bind', source: '/host/b', target: '/b', readonly: true },
      { type: 'bind', source: `${process.cwd()}/rel`, target: '/c', readonly: false },
    ]);
    expect(() =>
      new GenericContainer('img').withBindMounts([{ source: '/x', target: '/x', mode: 'z' as 'ro' }]),
    ).toThrow(/not supported/);
  });

  it('parses tmpfs options', () => {
    const spec = new GenericContainer('img')
      .withTmpFs({ '/pg': 'rw,noexec,nosuid,size=65536k', '/scratch': 'size=64m,mode=1777', '/plain': '' })
      .toSpec();
    expect(spec.mounts).toEqual([
      { type: 'tmpfs', target: '/pg', sizeBytes: 65536 * 1024 },
      { type: 'tmpfs', target: '/scratch', sizeBytes: 64 * 1024 * 1024, mode: 0o1777 },
      { type: 'tmpfs', target: '/plain' },
    ]);
    expect(parseTmpfs('/t', 'size=1G,mode=755')).toEqual({
      type: 'tmpfs',
      target: '/t',
      sizeBytes: 1024 ** 3,
      mode: 0o755,
    });
    expect(parseTmpfs('/t', 'size=4096').sizeBytes).toBe(4096);
    expect(() => parseTmpfs('/t', 'size=50%')).toThrow(/size "50%"/);
    expect(() => parseTmpfs('/t', 'mode=rwx')).toThrow(/octal/);
    const error = caught(() => parseTmpfs('/t', 'uid=1000'));
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toMatch(/"uid=1000" is not supported/);
  });

  it('maps copied content, files and directories', () => {
    const spec = new GenericContainer('img')
      .withCopyContentToContainer([
        { content: 'hello', target: '/etc/greeting' },
        { content: Buffer.from([0, 1, 255]), target: '/bin/blob', mode: 0o755 },
      ])
      .withCopyFilesToContainer([{ source: '/host/conf.ini', target: '/etc/conf.ini', mode: 0o600 }])
      .withCopyDirectoriesToContainer([{ source: 'fixtures/app', target: '/app' }])
      .toSpec();
    expect(spec.files).toEqual([
      { target: '/etc/greeting', content: 'hello' },
      { target: '/bin/blob', contentBase64: 'AAH/', mode: 0o755 },
      { target: '/etc/conf.ini', source: '/host/conf.ini', mode: 0o600 },
      { target: '/app', source: `${process.cwd()}/fixtures/app` },
    ]);
    const stream = Readable.from(['x']) as unknown as string;
    expect(() =>
      new GenericContainer('img').withCopyContentToContainer([{ content: stream, target: '/x' }]),
    ).toThrow(/string or a Buffer/);
  });

  it('maps security options, appending across calls, as testcontainers does', () => {
    expect(
      new GenericContainer('img')
        .withSecurityOpt('seccomp=unconfined')
        .withSecurityOpt('no-new-privileges', 'no-new-privileges=false')
        .toSpec().securityOpt,
    ).toEqual(['seccomp=unconfined', 'no-new-privileges', 'no-new-privileges=false']);
    expect(new GenericContainer('img').toSpec().securityOpt).toBeUndefined();
  });

  it('maps the resources quota: memory in GiB to bytes, cpu in cores', () => {
    expect(
      new GenericContainer('img').withResourcesQuota({ memory: 0.5, cpu: 1.5 }).toSpec().resources,
    ).toEqual({
      memoryBytes: 512 * 1024 * 1024,
      cpus: 1.5,
    });
    expect(new GenericContainer('img').withResourcesQuota({ memory: 2 }).toSpec().resources).toEqual({
      memoryBytes: 2 * 1024 ** 3,
    });
  });

  it('maps the network and its aliases, and refuses aliases without a network', async () => {
    const { engine } = fakeEngine();
    const network: StartedNetwork = await new Network({ engine, name: 'backend' }).start();
    const spec = new GenericContainer('img').withNetwork(network).withNetworkAliases('db', 'pg').toSpec();
    expect(spec.networks).toEqual([{ network: 'backend', aliases: ['db', 'pg'] }]);
    expect(new GenericContainer('img').withNetwork(network).toSpec().networks).toEqual([
      { network: 'backend' },
    ]);
    const error = caught(() => new GenericContainer('img').withNetworkAliases('db').toSpec());
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toMatch(/need a network/);
  });

  it('withReuse() refuses clearly', () => {
    const error = caught(() => new GenericContainer('img').withReuse());
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toMatch(/withReuse\(\) is not supported/);
  });

  it('toSpec() is plain data and does not change when the builder changes later', () => {
    const builder = new GenericContainer('img').withEnvironment({ A: '1' }).withExposedPorts(80);
    const spec = builder.toSpec();
    builder.withEnvironment({ B: '2' }).withExposedPorts(81);
    expect(spec).toEqual({ image: 'img', env: { A: '1' }, ports: [80], wait: { type: 'ports' } });
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });
});

describe('start() and StartedGenericContainer', () => {
  it('runs the spec on the given engine and passes the signal', async () => {
    const { engine, runs } = fakeEngine();
    const signal = new AbortController().signal;
    await new GenericContainer('img', { engine }).withExposedPorts(80).start({ signal });
    expect(runs).toEqual([
      { spec: { image: 'img', ports: [80], wait: { type: 'ports' } }, options: { signal } },
    ]);
  });

  it('exposes host, ports, id, name, hostname, network names and addresses', async () => {
    const { engine } = fakeEngine();
    const network = await new Network({ engine }).start();
    const started = await new GenericContainer('img', { engine })
      .withExposedPorts(443, 80)
      .withNetwork(network)
      .start();
    expect(started.getHost()).toBe('127.0.0.1');
    expect(started.getMappedPort(80)).toBe(40080);
    expect(started.getMappedPort('443/tcp')).toBe(40443);
    expect(started.getFirstMappedPort()).toBe(40443);
    expect(started.getId()).toBe('abcdef0123456789abcdef');
    expect(started.getName()).toBe('fake-1');
    expect(started.getHostname()).toBe('abcdef012345');
    expect(started.getNetworkNames()).toEqual(['net-generated']);
    expect(started.getIpAddress('net-generated')).toBe('10.88.0.2');
    expect(
      isCspecError(
        caught(() => started.getIpAddress('other')),
        'CSPEC_NETWORK_NOT_FOUND',
      ),
    ).toBe(true);
  });

  it('getFirstMappedPort() without ports says how to fix it', async () => {
    const { engine } = fakeEngine();
    const started = await new GenericContainer('img', { engine }).start();
    expect(() => started.getFirstMappedPort()).toThrow(/publishes no ports/);
  });

  it('exec runs arrays as given and strings through /bin/sh -c, with options', async () => {
    const { engine, execs } = fakeEngine();
    const started = await new GenericContainer('img', { engine }).start();
    const result = await started.exec(['ls', '-l'], { user: 'daemon', workingDir: '/tmp', env: { X: '1' } });
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', output: 'out\nerr\n' });
    await started.exec('echo "a b" | wc -w');
    expect(execs).toEqual([
      { command: ['ls', '-l'], options: { user: 'daemon', workingDir: '/tmp', env: { X: '1' } } },
      { command: ['/bin/sh', '-c', 'echo "a b" | wc -w'], options: {} },
    ]);
  });

  it('logs() is a text stream that follows', async () => {
    const { engine, calls } = fakeEngine();
    const started = await new GenericContainer('img', { engine }).start();
    const stream = await started.logs({ tail: 5 });
    let text = '';
    for await (const chunk of stream) text += chunk;
    expect(text).toBe('line 1\nline 2\n');
    expect(calls).toContain('logs follow=true tail=5');
  });

  it('destroying the logs stream stops following at once', async () => {
    const { engine, calls } = fakeEngine({ followUntilAborted: true });
    const started = await new GenericContainer('img', { engine }).start();
    const stream = await started.logs();
    let text = '';
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: string) => {
        text += chunk;
        if (text === 'line 1\nline 2\n') resolve();
      });
    });
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // Either the pending read was aborted, or the generator was closed at its yield.
    expect(calls.at(-1)).toBe('logs closed');
  });

  it('stop() stops and removes by default, keeps with remove: false; restart passes the timeout', async () => {
    const { engine, calls } = fakeEngine();
    const started = await new GenericContainer('img', { engine }).start();
    await started.restart({ timeout: 250 });
    const kept = await started.stop({ timeout: 100, remove: false });
    expect(kept.getId()).toBe('abcdef0123456789abcdef');
    expect(kept.exitStatus).toEqual({ exitCode: 143, oomKilled: false });
    expect(calls).toEqual(['restart 250', 'stop 100']);
    await started.stop();
    expect(calls).toEqual(['restart 250', 'stop 100', 'stop undefined', 'remove']);
  });

  it('await using removes the container', async () => {
    const { engine, calls } = fakeEngine();
    {
      await using started = await new GenericContainer('img', { engine }).start();
      expect(started.getId()).toBeTruthy();
      expect(calls).toEqual([]);
    }
    expect(calls).toEqual(['remove']);
  });
});

describe('Network', () => {
  it('creates a network on start and removes it once on stop or dispose', async () => {
    const { engine, calls, networks } = fakeEngine();
    const network = await new Network({ engine, name: 'n1' }).start();
    expect(networks).toEqual(['n1']);
    expect(network.getName()).toBe('n1');
    expect(network.getId()).toBe('n1');
    await network.stop();
    await network[Symbol.asyncDispose]();
    expect(calls).toEqual(['removeNetwork n1']);
  });
});
