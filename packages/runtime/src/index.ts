/** @cspec/runtime — daemonless Linux containers for tests. */
export { type ConfigOverrides, type RuntimeConfig, resolveConfig } from './config.js';
export type {
  BindMountSpec,
  ContainerSpec,
  FileSpec,
  MountSpec,
  NetworkAttachment,
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
export { createEngine, type EngineOptions } from './engine/native-engine.js';
export { ContainerStartError, CspecError, type CspecErrorCode, isCspecError } from './errors.js';
export type { ImageConfig, ImageProgress, ImageService, ImageSummary, ResolvedImage } from './image/types.js';
export type { WaitSpec } from './wait/spec.js';
