/** Readiness strategies, as plain data so they cross process boundaries. */
export type WaitSpec =
  | { readonly type: 'ports'; readonly ports?: readonly number[] }
  | {
      readonly type: 'log';
      readonly pattern: string;
      readonly flags?: string;
      readonly times?: number;
      /**
       * Counts only what follows the first line that matches this pattern (`^`
       * and `$` at line boundaries), and is not satisfied before that line:
       * matches up to it count toward `times`, but at least one must come after.
       * The init cache waits this way for the server its first-start work ends in.
       */
      readonly after?: string;
    }
  | { readonly type: 'command'; readonly command: readonly string[] }
  | {
      readonly type: 'http';
      readonly port: number;
      readonly path?: string;
      /** Accepted status codes. @default any 2xx */
      readonly status?: readonly number[];
      readonly method?: string;
    }
  | { readonly type: 'exit' }
  /** The image's HEALTHCHECK command succeeds (replaced by that command before the start). */
  | { readonly type: 'healthcheck' }
  | { readonly type: 'all'; readonly of: readonly WaitSpec[] };

/**
 * Replaces `{ type: 'healthcheck' }` (anywhere in the strategy) with the
 * image's HEALTHCHECK command; undefined when the image has none.
 */
export function withImageHealthcheck(
  wait: WaitSpec,
  healthcheck: readonly string[] | undefined,
): WaitSpec | undefined {
  if (wait.type === 'healthcheck') return healthcheck ? { type: 'command', command: healthcheck } : undefined;
  if (wait.type !== 'all') return wait;
  const of: WaitSpec[] = [];
  for (const w of wait.of) {
    const resolved = withImageHealthcheck(w, healthcheck);
    if (!resolved) return undefined;
    of.push(resolved);
  }
  return { type: 'all', of };
}
