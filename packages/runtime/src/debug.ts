import { format } from 'node:util';
import { debugPatternFromEnv } from './config.js';

/**
 * `DEBUG=cspec:*` diagnostics. Library code never prints otherwise.
 * The pattern is read once, by `setDebugPattern` (called from the config owner)
 * or lazily from the environment (through config.ts) the first time a logger is used.
 */
let pattern: RegExp | undefined;

export function setDebugPattern(value: string): void {
  const parts = value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*'));
  pattern = parts.length ? new RegExp(`^(${parts.join('|')})$`) : /^$/;
}

export type DebugLogger = ((...args: unknown[]) => void) & { readonly enabled: boolean };

export function createDebug(namespace: string): DebugLogger {
  const check = () => {
    if (!pattern) setDebugPattern(debugPatternFromEnv());
    return pattern?.test(namespace) ?? false;
  };
  const log = (...args: unknown[]) => {
    if (!check()) return;
    process.stderr.write(`${new Date().toISOString()} ${namespace} ${format(...args)}\n`);
  };
  Object.defineProperty(log, 'enabled', { get: check });
  return log as DebugLogger;
}
