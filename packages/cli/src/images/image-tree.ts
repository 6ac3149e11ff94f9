/**
 * `image tree`: cached images as a forest by the layers they share. An
 * image's parent is the image whose layers are the longest proper prefix of
 * its own; images with exactly the same layers (tags of one image, or a
 * commit without changes) share a node. Each node shows what it adds.
 */
import type { ImageDetails } from '@cspec/runtime';

export interface TreeNode {
  /** References with exactly these layers, sorted. */
  readonly references: readonly string[];
  readonly id: string;
  readonly layerCount: number;
  /** Layers (and their bytes) this node adds to its parent's. */
  readonly addedLayers: number;
  readonly addedBytes: number;
  readonly children: TreeNode[];
}

type Input = Pick<ImageDetails, 'reference' | 'id' | 'layers'>;

const key = (image: Input) => image.layers.map((l) => l.diffId).join(',');

function isPrefix(shorter: readonly string[], longer: readonly string[]): boolean {
  return shorter.length < longer.length && shorter.every((d, i) => d === longer[i]);
}

export function imageTree(images: readonly Input[]): TreeNode[] {
  const groups = new Map<string, Input[]>();
  for (const image of images) groups.set(key(image), [...(groups.get(key(image)) ?? []), image]);
  const members = [...groups.values()];
  const chain = (group: Input[]) => group[0]!.layers.map((l) => l.diffId);
  const nodes = new Map<Input[], TreeNode>();
  // Shortest first, so a parent's node exists before its children's.
  members.sort((a, b) => chain(a).length - chain(b).length);
  const roots: TreeNode[] = [];
  for (const group of members) {
    const mine = chain(group);
    let parent: Input[] | undefined;
    for (const other of members) {
      if (isPrefix(chain(other), mine) && (!parent || chain(other).length > chain(parent).length)) {
        parent = other;
      }
    }
    const inherited = parent ? chain(parent).length : 0;
    const layers = group[0]!.layers;
    const node = {
      references: group.map((g) => g.reference).sort(),
      id: group[0]!.id,
      layerCount: layers.length,
      addedLayers: layers.length - inherited,
      addedBytes: layers.slice(inherited).reduce((n, l) => n + l.size, 0),
      children: [],
    };
    nodes.set(group, node);
    if (parent) nodes.get(parent)!.children.push(node);
    else roots.push(node);
  }
  const byName = (a: TreeNode, b: TreeNode) => a.references[0]!.localeCompare(b.references[0]!);
  const sortAll = (list: TreeNode[]) => {
    list.sort(byName);
    for (const n of list) sortAll(n.children);
  };
  sortAll(roots);
  return roots;
}

/** Keeps the trees that contain `reference`, pruned to its ancestors and its descendants. */
export function subtreeOf(roots: readonly TreeNode[], reference: string): TreeNode[] {
  const visit = (node: TreeNode): TreeNode | undefined => {
    if (node.references.includes(reference)) return node;
    const kept = node.children.map(visit).filter((n): n is TreeNode => n !== undefined);
    return kept.length ? { ...node, children: kept } : undefined;
  };
  return roots.map(visit).filter((n): n is TreeNode => n !== undefined);
}

/** Box-drawing lines; `describe` renders one node. */
export function renderTree(roots: readonly TreeNode[], describe: (node: TreeNode) => string): string[] {
  const lines: string[] = [];
  const walk = (node: TreeNode, prefix: string, last: boolean, top: boolean) => {
    lines.push(top ? describe(node) : `${prefix}${last ? '└─ ' : '├─ '}${describe(node)}`);
    const childPrefix = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
    node.children.forEach((child, i) => {
      walk(child, childPrefix, i === node.children.length - 1, false);
    });
  };
  for (const root of roots) walk(root, '', true, true);
  return lines;
}
