import { describe, expect, it } from 'vitest';
import { bootstrapStage } from './debian-bootstrap.js';

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
