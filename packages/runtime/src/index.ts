/** @cspec/runtime — daemonless Linux containers for tests. */

export { type FailureLog, failureLogSink } from './api/failure-logs.js';
export { type WithContainerOptions, withContainer } from './api/with-container.js';
export {
  type DelegatedCgroup,
  type Delegation,
  type FindDelegatedCgroupOptions,
  findDelegatedCgroup,
} from './cgroup/delegation.js';
export { GenericContainerBuilder } from './compat/dockerfile-builder.js';
export {
  type BindMount,
  type ContentToCopy,
  type DirectoryToCopy,
  type FileToCopy,
  GenericContainer,
  type GenericContainerOptions,
  type PortWithOptionalBinding,
  type ResourcesQuota,
  type StartOptions,
} from './compat/generic-container.js';
export { Network, type NetworkOptions as CompatNetworkOptions, StartedNetwork } from './compat/network.js';
export {
  type CompatExecOptions,
  type CompatLogOptions,
  type CompatRestartOptions,
  type CompatStopOptions,
  StartedGenericContainer,
  StoppedGenericContainer,
} from './compat/started-container.js';
export { HttpWaitStrategy, Wait, WaitStrategy } from './compat/wait.js';
export { type ConfigOverrides, type RegistryConfig, type RuntimeConfig, resolveConfig } from './config.js';
export type {
  BindMountSpec,
  ContainerSpec,
  FileSpec,
  InitCacheSpec,
  MountSpec,
  NetworkAttachment,
  OverlayMountSpec,
  PortSpec,
  ResourceSpec,
  TmpfsMountSpec,
} from './container/spec.js';
export { MIN_MEMORY_BYTES, validateSpec } from './container/validate-spec.js';
export { closeDefaultEngine, getDefaultEngine } from './engine/default-engine.js';
export type {
  Container,
  ContainerInfo,
  ContainerStatus,
  Engine,
  ExecOptions,
  ExecResult,
  ExitStatus,
  LogOptions,
  NetworkInfo,
  NetworkOptions,
  PruneReport,
  RunOptions,
  StopOptions,
} from './engine/engine.js';
export { INIT_CACHE_LABELS } from './engine/init-cache.js';
export { createEngine, type EngineOptions } from './engine/native-engine.js';
export type { PreparedImage, PrepareImageRequest } from './engine/prepare-image.js';
export { ContainerStartError, CspecError, type CspecErrorCode, isCspecError } from './errors.js';
export type { BuildOptions, BuildProgress, BuildResult } from './image/build/builder.js';
export type { CommitChanges } from './image/commit-image.js';
export { DEBIAN_SUITES } from './image/sources/debian-bootstrap.js';
export type {
  ImageCheckProblem,
  ImageCheckReport,
  ImageConfig,
  ImageDetails,
  ImageProgress,
  ImagePruneReport,
  ImageService,
  ImageSummary,
  LoadedImage,
  PullImageOptions,
  PullReport,
  PushImageOptions,
  PushReport,
  ResolvedImage,
} from './image/types.js';
export { checkNodeVersion, NODE_VERSION, type NodeRelease, nodeRelease } from './node/node-release.js';
export type { Change } from './snapshot/upper-changes.js';
export type { WaitSpec } from './wait/spec.js';
