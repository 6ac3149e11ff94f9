import { describe, expect, it } from 'vitest';
import { historyRows } from './history-rows.js';
import { imageTree, renderTree, subtreeOf } from './image-tree.js';

const layer = (n: number, size = n * 100) => ({ digest: `sha256:b${n}`, diffId: `sha256:d${n}`, size });

describe('historyRows', () => {
  it('pairs steps with layers, config-only steps with none, newest first', () => {
    const rows = historyRows({
      layers: [layer(1), layer(2)],
      history: [
        { createdBy: 'debootstrap', emptyLayer: false },
        { createdBy: 'ENV A=1', emptyLayer: true },
        { createdBy: 'RUN make', comment: 'x', emptyLayer: false },
      ],
    });
    expect(rows.map((r) => [r.createdBy, r.size, r.layer])).toEqual([
      ['RUN make', 200, 'sha256:b2'],
      ['ENV A=1', 0, undefined],
      ['debootstrap', 100, 'sha256:b1'],
    ]);
  });

  it('gives layers without history a row of their own', () => {
    const rows = historyRows({ layers: [layer(1), layer(2)], history: [] });
    expect(rows.map((r) => [r.comment, r.layer])).toEqual([
      ['(no history)', 'sha256:b2'],
      ['(no history)', 'sha256:b1'],
    ]);
  });
});

describe('imageTree', () => {
  const images = [
    { reference: 'cspec/debian:bookworm', id: 'sha256:i1', layers: [layer(1)] },
    { reference: 'cspec/debian:12', id: 'sha256:i1', layers: [layer(1)] },
    { reference: 'my/app:1', id: 'sha256:i2', layers: [layer(1), layer(2)] },
    { reference: 'my/app:2', id: 'sha256:i3', layers: [layer(1), layer(2), layer(3)] },
    { reference: 'my/tool:1', id: 'sha256:i4', layers: [layer(1), layer(4)] },
    { reference: 'other:1', id: 'sha256:i5', layers: [layer(9)] },
  ];

  it('hangs each image under the one whose layers it extends; equal layers share a node', () => {
    const lines = renderTree(
      imageTree(images),
      (n) => `${n.references.join(', ')} +${n.addedLayers} (${n.addedBytes})`,
    );
    expect(lines).toEqual([
      'cspec/debian:12, cspec/debian:bookworm +1 (100)',
      '├─ my/app:1 +1 (200)',
      '│  └─ my/app:2 +1 (300)',
      '└─ my/tool:1 +1 (400)',
      'other:1 +1 (900)',
    ]);
  });

  it('shows one image with its ancestors and descendants only', () => {
    const lines = renderTree(subtreeOf(imageTree(images), 'my/app:1'), (n) => n.references.join(', '));
    expect(lines).toEqual(['cspec/debian:12, cspec/debian:bookworm', '└─ my/app:1', '   └─ my/app:2']);
  });
});
