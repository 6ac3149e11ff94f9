import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { overlayOptions } from '../sandbox/oci-config.js';
import { LINK_NAME_LENGTH } from './layer-links.js';
import {
  assertOverlayFits,
  MOUNT_DATA_MAX_BYTES,
  maxLowerDirs,
  OVERLAY_MAX_LOWER_DIRS,
  overlayDataBytes,
} from './overlay-limits.js';

const link = (dataDir: string, i: number) => `${dataDir}/l/${String(i).padStart(LINK_NAME_LENGTH, 'x')}`;
const links = (dataDir: string, n: number) => Array.from({ length: n }, (_, i) => link(dataDir, i));
const ID = 'f'.repeat(64);
/** Where containers keep their writable layer: tmpfs (the default) and disk. */
const WRITABLE = { tmpfs: `/dev/shm/cspec/${ID}`, disk: `/var/lib/cspec/writable/${ID}` };
const others = (writable: string) => [`upperdir=${writable}/upper`, `workdir=${writable}/work`];

function caught(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('overlay mount data size', () => {
  it('counts exactly what the OCI config passes to mount(2)', () => {
    const lower = links('/var/lib/cspec', 7);
    const options = overlayOptions(lower, `${WRITABLE.tmpfs}/upper`, `${WRITABLE.tmpfs}/work`);
    expect(overlayDataBytes({ lowerDirs: lower, otherOptions: others(WRITABLE.tmpfs) })).toBe(
      options.join(',').length,
    );
    const rootless = overlayOptions(lower, `${WRITABLE.tmpfs}/upper`, `${WRITABLE.tmpfs}/work`, {
      userxattr: true,
    });
    expect(
      overlayDataBytes({ lowerDirs: lower, otherOptions: others(WRITABLE.tmpfs), userxattr: true }),
    ).toBe(rootless.join(',').length);
    expect(rootless.join(',').length - options.join(',').length).toBe(10);
    expect(overlayDataBytes({ lowerDirs: ['/a', '/bc'] })).toBe('lowerdir=/a:/bc'.length);
    expect(overlayDataBytes({ lowerDirs: ['/é'] })).toBe('lowerdir=/'.length + 2);
  });

  it('fits the 128 layers Docker allows with the default data directory, either writable layer', () => {
    for (const writable of Object.values(WRITABLE)) {
      const stack = { lowerDirs: links('/var/lib/cspec', 128), otherOptions: others(writable) };
      expect(overlayDataBytes(stack)).toBeLessThanOrEqual(MOUNT_DATA_MAX_BYTES);
      expect(() => assertOverlayFits(stack, 'image x')).not.toThrow();
    }
    // What docs/runtime.md promises.
    const max = (writable: string) =>
      maxLowerDirs({ lowerDirs: links('/var/lib/cspec', 1), otherOptions: others(writable) });
    expect(max(WRITABLE.tmpfs)).toBe(134);
    expect(max(WRITABLE.disk)).toBe(133);
  });

  it('allows exactly as many layers as fit in one page, and not one more', () => {
    const otherOptions = others(WRITABLE.disk);
    const max = maxLowerDirs({ lowerDirs: links('/var/lib/cspec', 1), otherOptions });
    const fits = { lowerDirs: links('/var/lib/cspec', max), otherOptions };
    const over = { lowerDirs: links('/var/lib/cspec', max + 1), otherOptions };
    expect(overlayDataBytes(fits)).toBeLessThanOrEqual(MOUNT_DATA_MAX_BYTES);
    expect(overlayDataBytes(over)).toBeGreaterThan(MOUNT_DATA_MAX_BYTES);
    expect(() => assertOverlayFits(fits, 'image x')).not.toThrow();
    expect(() => assertOverlayFits(over, 'image x')).toThrow(/too many to mount/);
    // A path of exactly the page: 4095 bytes fit, 4096 do not.
    const exact = { lowerDirs: [`/${'a'.repeat(MOUNT_DATA_MAX_BYTES - 'lowerdir=/'.length)}`] };
    expect(overlayDataBytes(exact)).toBe(MOUNT_DATA_MAX_BYTES);
    expect(() => assertOverlayFits(exact, 'image x')).not.toThrow();
    expect(() => assertOverlayFits({ lowerDirs: [`${exact.lowerDirs[0]}b`] }, 'image x')).toThrow();
  });

  it('names the layer count, the limit, what fits and what to do when the paths are too long', () => {
    const dataDir = `/tmp/${'long-directory-name/'.repeat(10)}data`;
    const stack = { lowerDirs: links(dataDir, 130), otherOptions: others(WRITABLE.tmpfs) };
    const error = caught(() => assertOverlayFits(stack, 'image example.test/many:1'));
    expect(isCspecError(error, 'CSPEC_IMAGE_TOO_MANY_LAYERS')).toBe(true);
    const { message, hint } = error as { message: string; hint: string };
    expect(message).toContain('image example.test/many:1 has 130 layers');
    expect(message).toContain(`${overlayDataBytes(stack)} bytes`);
    expect(message).toContain(`at most ${MOUNT_DATA_MAX_BYTES}`);
    expect(message).toContain(`at most ${maxLowerDirs(stack)} layers fit`);
    expect(maxLowerDirs(stack)).toBe(17); // (4095 - 197 bytes of other options + 1) / (223 + 1)
    expect(message).toContain(link(dataDir, 0).length.toString());
    expect(hint).toContain('CSPEC_DATA_DIR');
    expect(hint).toContain('squash');
  });

  it('refuses more lower directories than overlayfs stacks, however short their paths', () => {
    const short = Array.from({ length: OVERLAY_MAX_LOWER_DIRS + 1 }, (_, i) => `/${i % 10}`);
    expect(overlayDataBytes({ lowerDirs: short })).toBeLessThan(MOUNT_DATA_MAX_BYTES);
    const error = caught(() => assertOverlayFits({ lowerDirs: short }, 'image deep:1'));
    expect(isCspecError(error, 'CSPEC_IMAGE_TOO_MANY_LAYERS')).toBe(true);
    expect((error as Error).message).toContain(`has ${OVERLAY_MAX_LOWER_DIRS + 1} layers`);
    expect((error as Error).message).toContain(`at most ${OVERLAY_MAX_LOWER_DIRS} lower directories`);
    expect(() => assertOverlayFits({ lowerDirs: short.slice(1) }, 'image deep:1')).not.toThrow();
    expect(maxLowerDirs({ lowerDirs: short })).toBe(OVERLAY_MAX_LOWER_DIRS);
  });

  it('counts only the image layers in the message when other directories are stacked too', () => {
    const error = caught(() =>
      assertOverlayFits({ lowerDirs: [`/${'u'.repeat(5000)}`, '/l/a'] }, "the container's image", 1),
    );
    expect((error as Error).message).toContain('has 1 layers');
  });
});
