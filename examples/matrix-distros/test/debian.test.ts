/**
 * Runs once per distribution under `cspec test --distro ...`: cspec tells
 * the tests where they run (CSPEC_DISTRO), and each test checks something
 * that really differs between Debian releases.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** What each release ships: its version's major number and the dpkg in its minbase. */
const RELEASES: Record<string, { readonly major: string; readonly dpkg: string }> = {
  'debian:bullseye': { major: '11', dpkg: '1.20' },
  'debian:bookworm': { major: '12', dpkg: '1.21' },
  'debian:trixie': { major: '13', dpkg: '1.22' },
};

const distro = process.env.CSPEC_DISTRO ?? '';
const expected = RELEASES[distro];

function codename(): string {
  return /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
}

/** From `dpkg --version`: "Debian 'dpkg' package management program version 1.21.23 (amd64)." */
function dpkgVersion(): string {
  const text = execFileSync('dpkg', ['--version'], { encoding: 'utf8' });
  return /version (\d+\.\d+\.\d+)/.exec(text)?.[1] ?? text.split('\n')[0] ?? '';
}

describe.runIf(expected)(`on ${distro || 'a distribution'}`, () => {
  it('runs on the release it was asked for', () => {
    expect(readFileSync('/etc/debian_version', 'utf8').split('.')[0]).toBe(expected?.major);
    expect(`debian:${codename()}`).toBe(distro);
  });

  it("has that release's dpkg", () => {
    expect(dpkgVersion()).toMatch(new RegExp(`^${expected?.dpkg.replace('.', '\\.')}\\.`));
  });

  it('may write into the project: the host copy stays as it was', () => {
    mkdirSync('scratch', { recursive: true });
    writeFileSync('scratch/written-by-test.txt', distro);
    writeFileSync('package.json', '{}\n');
    expect(readFileSync('scratch/written-by-test.txt', 'utf8')).toBe(distro);
  });

  // CSPEC_EXAMPLE_BREAK_BULLSEYE=1 npm test: a requirement only bullseye's dpkg 1.20 misses.
  it.runIf(process.env.CSPEC_EXAMPLE_BREAK_BULLSEYE === '1')('needs dpkg 1.21 or later', () => {
    const [major, minor] = dpkgVersion().split('.').map(Number);
    expect((major ?? 0) * 100 + (minor ?? 0), `dpkg ${dpkgVersion()} is too old`).toBeGreaterThanOrEqual(121);
  });
});

it('runs with the Node that cspec provides (--node N picks the release)', () => {
  const wanted = process.env.EXPECTED_NODE_MAJOR;
  if (wanted) expect(process.versions.node.split('.')[0]).toBe(wanted);
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
});
