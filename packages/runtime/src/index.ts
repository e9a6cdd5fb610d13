/**
 * @ecf8/runtime — keep a compressed model compressed on the backend and decode each FP8 tensor just before use into
 * one shared workspace (docs/runtime.md).
 */
export { openModel, CompressedModel, type OpenOptions, type TensorEntry, type TensorView, type GetOptions } from './model.js';
export { planMemory, formatMemoryReport, type MemoryReport, type ResidentMeasure, type WorkspaceOptions } from './memory.js';
export { placementKindOf, isWebGpuBackend, isCudaBackend, type PlacementKind, type CudaDeviceBuffer, type CudaLikeBackend, type WebGpuLikeBackend } from './placement.js';
export { openShards, openModelFiles, type ModelSource, type Shard, type IndexFile, type ModelFiles } from './sources.js';
export { Sha256 } from '@ecf8/safetensors/layout';
