/**
 * The user namespace of this process's rootless engines: one holder per
 * process, made on first use and shared by every engine, store and teardown
 * of the process (user-namespace.ts).
 */
import { readUserIds } from './id-ranges.js';
import { openUserNamespace, type UserNamespace } from './user-namespace.js';

let current: Promise<UserNamespace> | undefined;

export function processUserNamespace(): Promise<UserNamespace> {
  current ??= openUserNamespace(readUserIds()).catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}
