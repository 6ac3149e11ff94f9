import { describe, expect, it } from 'vitest';
import { bootstrapStage, mmdebstrapStage } from './debian-bootstrap.js';

describe('bootstrapStage', () => {
  it('condenses debootstrap lines into stages', () => {
    const lines = [
      'I: Retrieving InRelease ',
      'I: Validating Packages ',
      'I: Retrieving adduser 3.118',
      'I: Validating adduser 3.118',
      'I: Extracting bash...',
      'I: Installing core packages...',
      'I: Unpacking bash...',
      'I: Configuring bash...',
      'I: Base system installed successfully.',
      'W: a warning',
    ];
    const stages = lines.map(bootstrapStage);
    expect(stages).toEqual([
      'fetching the package index',
      'fetching the package index',
      'downloading packages',
      'downloading packages',
      'extracting packages',
      'installing core packages',
      'unpacking packages',
      'configuring packages',
      'base system installed',
      undefined,
    ]);
  });
});

describe('mmdebstrapStage', () => {
  it("condenses mmdebstrap's lines (the rootless build) into stages", () => {
    const lines = [
      "I: chroot architecture amd64 is equal to the host's architecture",
      'I: running apt-get update...',
      'I: downloading packages with apt...',
      'I: extracting archives...',
      'I: installing essential packages...',
      'I: installing remaining packages inside the chroot...',
      'I: cleaning package lists and apt cache...',
      'I: creating tarball...',
      'I: done',
    ];
    expect(lines.map(mmdebstrapStage)).toEqual([
      undefined,
      'fetching the package index',
      'downloading packages',
      'extracting packages',
      'installing packages',
      'installing packages',
      undefined,
      'archiving the root filesystem',
      undefined,
    ]);
  });
});
