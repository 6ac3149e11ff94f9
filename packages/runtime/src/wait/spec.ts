/** Readiness strategies, as plain data so they cross process boundaries. */
export type WaitSpec =
  | { readonly type: 'ports'; readonly ports?: readonly number[] }
  | { readonly type: 'log'; readonly pattern: string; readonly flags?: string; readonly times?: number }
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
  | { readonly type: 'all'; readonly of: readonly WaitSpec[] };
