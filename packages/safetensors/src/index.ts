/**
 * @ecf8/safetensors — ECF8 for model files (spec/ecf8-safetensors-v1.md): compress every F8_E4M3 tensor of a safetensors file or
 * sharded checkpoint into ECF8 streams, restore the original files byte for byte, verify, inspect (with SVG plots),
 * and convert to and from the buffer layout of the paper authors' release.
 */
export { ModelErrorCode, modelFail, addContext, asEcf8Error } from './errors.js';
export {
  MAX_HEADER_SIZE,
  DTYPE_BITS,
  FP8_DTYPE,
  headerSizeOf,
  parseHeaderBytes,
  parseSafetensors,
  serializeHeader,
  buildSafetensors,
  lengthPrefix,
  elementAlignment,
  type TensorInfo,
  type SafetensorsHeader,
  type HeaderEntry,
} from './format.js';
export { openSafetensors, readSafetensorsHeader, readWholeFileSync, readSidecar, MAX_SIDECAR_BYTES } from './io.js';
export {
  STDOUT,
  isStdout,
  writeOutput,
  writeFileAtomically,
  writeDirectoryOutput,
  withOutputPolicy,
  installSignalCleanup,
  sweepStaleTemps,
  activeTemps,
  removeActiveTemps,
  removeActiveTempsSync,
  tempPathFor,
  testPause,
  isOutputRefusal,
  CLEANUP_SIGNALS,
  type OutputSink,
  type OutputOptions,
  type OutputPolicy,
} from './output.js';
export { ProgressTracker, type Progress, type ProgressCallback } from './progress.js';
export {
  META,
  CONTAINER_FORMAT,
  CONTAINER_VERSION,
  STREAM_SUFFIX,
  compressFile,
  decompressFile,
  verifyFile,
  readModelHeader,
  readCompressedLayout,
  isCompressedHeader,
  maxStreamSize,
  streamNames,
  type CompressOptions,
  type RestoreOptions,
  type StreamEncoder,
  type StreamDecoder,
  type FileResult,
  type TensorResult,
  type CompressedLayout,
  type StreamMapEntry,
} from './model.js';
export { compressModel, decompressModel, verifyModel, listSafetensors, type ModelResult, type DirectoryOptions } from './model-dir.js';
export { INDEX_SUFFIX, INDEX_FORMAT } from './model-index.js';
export { inspectModel, THEOREM_2_1, type InspectReport, type TensorStats, type InspectOptions } from './inspect.js';
export { renderInspectSvg, blockAndKind } from './plot.js';
export {
  OFFICIAL_BUFFER_NAMES,
  OFFICIAL_BYTES_PER_THREAD,
  decodeOfficial,
  officialBuffersFromStream,
  emulateOfficialKernel,
  splitRanges,
  compilePattern,
  importOfficial,
  exportOfficial,
  type OfficialBuffers,
  type CompiledPattern,
  type ImportOptions,
  type ImportResult,
  type ExportOptions,
  type ExportResult,
} from './official.js';
