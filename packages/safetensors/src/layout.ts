/**
 * `@ecf8/safetensors/layout`: what a reader of compressed model files needs (spec/ecf8-safetensors-v1.md §1-§4: the
 * safetensors header, the `ecf8.*` metadata and its validation against the tensors), with no Node imports, so that
 * browsers can read compressed models, and the check of a sharded checkpoint's index (§5). Everything here is defined
 * in container.ts, model-index.ts, sha256.ts, format.ts and errors.ts.
 */
export * from './container.js';
export { ModelErrorCode, addContext } from './errors.js';
export { DTYPE_BITS, FP8_DTYPE, MAX_HEADER_SIZE, headerSizeOf, parseHeaderBytes, parseSafetensors, type SafetensorsHeader, type TensorInfo } from './format.js';
export * from './model-index.js';
export { Sha256 } from './sha256.js';
