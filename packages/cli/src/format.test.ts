import type { ContainerInfo } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { formatAgo, formatCommand, formatDuration, formatPorts, formatStatus, psRow } from './format.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [3_400, '3s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [3_599_000, '59m'],
    [3_600_000, '1h'],
    [47 * 3_600_000, '47h'],
    [48 * 3_600_000, '2d'],
    [-5000, '0s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatStatus', () => {
  it('shows uptime for a running container', () => {
    expect(formatStatus({ status: 'running', exit: undefined, createdAt: ago(3000) }, NOW)).toBe('Up 3s');
  });

  it('shows the exit code, and when it exited if known', () => {
    const exited = {
      status: 'exited',
      exit: { exitCode: 0, oomKilled: false },
      createdAt: ago(60_000),
    } as const;
    expect(formatStatus(exited, NOW)).toBe('Exited (0)');
    expect(formatStatus({ ...exited, finishedAt: ago(5000) }, NOW)).toBe('Exited (0) 5s ago');
    expect(formatStatus({ ...exited, exit: { exitCode: 3, oomKilled: false } }, NOW)).toBe('Exited (3)');
  });

  it('says OOMKilled when the memory limit killed it', () => {
    expect(
      formatStatus({ status: 'exited', exit: { exitCode: 137, oomKilled: true }, createdAt: ago(1000) }, NOW),
    ).toBe('OOMKilled');
    // Only a child was killed; the container exited on its own.
    expect(
      formatStatus({ status: 'exited', exit: { exitCode: 1, oomKilled: true }, createdAt: ago(1000) }, NOW),
    ).toBe('Exited (1)');
  });

  it('says Created before it runs', () => {
    expect(formatStatus({ status: 'created', exit: undefined, createdAt: ago(1000) }, NOW)).toBe('Created');
  });
});

describe('formatPorts', () => {
  it('lists published ports on 127.0.0.1 ordered by container port', () => {
    expect(formatPorts({ 6379: 41235, 5432: 41234 })).toBe(
      '127.0.0.1:41234->5432/tcp, 127.0.0.1:41235->6379/tcp',
    );
    expect(formatPorts({})).toBe('');
  });
});

describe('formatCommand', () => {
  it('quotes arguments a shell would split, and cuts long commands', () => {
    expect(formatCommand(['sh', '-c', 'exit 3'])).toBe(`"sh -c 'exit 3'"`);
    expect(formatCommand(['cat', '/etc/debian_version'])).toBe('"cat /etc/debian_version"');
    expect(formatCommand(['x'.repeat(40)], 10)).toBe(`"${'x'.repeat(9)}…"`);
    expect(formatCommand(["it's"])).toBe(`"'it'\\''s'"`);
  });
});

describe('psRow', () => {
  it('renders one container', () => {
    const info: ContainerInfo = {
      id: 'a1b2c3d4e5f6a7b8c9d0',
      name: 'pg',
      image: 'cspec/postgres:16',
      status: 'running',
      finishedAt: undefined,
      createdAt: ago(120_000),
      command: ['postgres'],
      ports: { 5432: 41234 },
      exit: undefined,
      pid: 42,
      labels: {},
      ipAddress: '10.88.0.2',
      detached: true,
    };
    expect(psRow(info, NOW)).toEqual([
      'a1b2c3d4e5f6',
      'cspec/postgres:16',
      '"postgres"',
      '2m ago',
      'Up 2m',
      '127.0.0.1:41234->5432/tcp',
      'pg',
    ]);
    // An exited container no longer forwards its ports.
    const exited = { ...info, status: 'exited', exit: { exitCode: 0, oomKilled: false } } as const;
    expect(psRow(exited, NOW)[5]).toBe('');
    expect(formatAgo('not a date', NOW)).toBe('-');
  });
});
