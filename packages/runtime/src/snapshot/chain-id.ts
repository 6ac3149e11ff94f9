import { createHash } from 'node:crypto';

/**
 * Chain ids of an image's layers (OCI image spec): chainID(L0) = diffID(L0),
 * chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). A chain id names a
 * layer together with everything below it, so equal ids mean equal trees.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out.at(-1);
    out.push(
      previous === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`,
    );
  }
  return out;
}
