import type { CgroupDriver } from '../cgroup/driver.js';
import type { RuntimeConfig } from '../config.js';
import type { ImageService } from '../image/types.js';
import type { NetworkManager } from '../network/network-manager.js';
import type { AccountFilesCache } from '../sandbox/image-accounts.js';
import type { OciRuntime } from '../sandbox/oci-runtime.js';

/** The pieces the native engine is made of; passed to the modules that need them. */
export interface EngineContext {
  readonly config: RuntimeConfig;
  readonly runtime: OciRuntime;
  readonly cgroups: CgroupDriver;
  readonly network: NetworkManager;
  readonly images: ImageService;
  /** Images' /etc/passwd and /etc/group, read once per image (sandbox/image-accounts.ts). */
  readonly accounts: AccountFilesCache;
  /** Whether the memory cgroup can also limit swap on this host. */
  readonly swapLimitSupported: boolean;
}
