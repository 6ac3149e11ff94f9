/** Helpers for the network integration tests: fake containers, listeners in a netns, leak checks. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { isListeningInside } from '../../packages/runtime/src/network/container-port-probe.js';

export const config = resolveConfig();

export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** A directory standing in for containers' directories (hosts files). */
export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'cspec-net-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Everything on the host that belongs to these container ids (netns, veths, leases, records, memberships). */
export function leftovers(ids: readonly string[]): string[] {
  const found: string[] = [];
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  const links = readdirSync('/sys/class/net');
  for (const id of ids) {
    found.push(...netns.filter((n) => n === `cs${id.slice(0, 12)}`).map((n) => `netns ${n}`));
    found.push(...links.filter((l) => l.startsWith(`cs${id.slice(0, 10)}`)).map((l) => `link ${l}`));
  }
  for (const file of [
    ...filesUnder(join(config.runDir, 'ipam')),
    ...filesUnder(join(config.runDir, 'networks')),
  ]) {
    const text = (() => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    })();
    if (ids.some((id) => text.includes(id))) found.push(`file ${file}`);
  }
  for (const id of ids) {
    const record = join(config.runDir, 'container-networks', `${id}.json`);
    if (existsSync(record)) found.push(`record ${record}`);
  }
  return found;
}

/** A TCP server in a network namespace answering `hello from NAME` to every connection. */
export async function listenerIn(netns: string, port: number, name: string): Promise<ChildProcess> {
  const script = `require('net').createServer((s) => s.end('hello from ${name}')).listen(${port}, '0.0.0.0')`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  // ip netns exec execs node in place: the pid is the listener's.
  while (!(await isListeningInside(child.pid!, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`listener in ${netns} did not start`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return child;
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Reads what the server sends until it closes. */
export function fetchText(host: string, port: number, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    let data = '';
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('end', () => resolve(data));
    socket.on('timeout', () => {
      socket.destroy();
      reject(new Error(`timed out talking to ${host}:${port}`));
    });
    socket.on('error', reject);
  });
}

/** `ECONNREFUSED` from a closed port proves the address is routable and its kernel answers. */
export function connectOutcome(host: string, port: number, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

/**
 * Runs node inside a network namespace with `hostsFile` bind-mounted over
 * /etc/hosts (in a private mount namespace), as a container sees it.
 */
export function runInContainerView(
  netns: string,
  hostsFile: string,
  script: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$1" /etc/hosts && exec ip netns exec "$2" "$3" -e "$4"',
        'sh',
        hostsFile,
        netns,
        process.execPath,
        script,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The FORWARD chain's rules (`iptables -S FORWARD`), or undefined without iptables. */
export function forwardRules(): string[] | undefined {
  try {
    return execFileSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8' }).split('\n');
  } catch {
    return undefined;
  }
}

/**
 * Puts the host in the state Docker leaves it in — bridged traffic through
 * iptables (br_netfilter) and a FORWARD policy of DROP — and returns a
 * function that restores what was there. Undefined when the host cannot
 * (no iptables, or no br_netfilter).
 */
export function filterBridgedTraffic(): (() => void) | undefined {
  const sysctl = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  const rules = forwardRules();
  if (!rules || !existsSync(sysctl)) return undefined;
  const policy = rules.find((r) => r.startsWith('-P FORWARD '))?.split(' ')[2] ?? 'ACCEPT';
  const filtered = readFileSync(sysctl, 'utf8').trim();
  writeFileSync(sysctl, '1');
  execFileSync('iptables', ['-w', '5', '-P', 'FORWARD', 'DROP']);
  return () => {
    execFileSync('iptables', ['-w', '5', '-P', 'FORWARD', policy]);
    writeFileSync(sysctl, filtered);
  };
}
