/**
 * @ecf8/core — the reference implementation of the ECF8 v1 stream format (spec/ecf8-v1.md). Modules follow the
 * spec's order: element format (§2), header and layout (§3-4), code lengths (§5.1, §12.2), canonical codes (§5.2),
 * decode tables (§6), encoder (§7-10, §12), validation (§11), sequential and GPU-order decoders (§8.3, §13).
 */
export { ErrorCode, Ecf8Error, STREAM_ERROR_CODES, fail, isEcf8Error } from './errors.js';
export { crc32c, crc32cUpdate } from './crc32c.js';
export { ELEMENT_FORMAT_E4M3FN, SYMBOL_COUNT, exponentOf, nibbleOf, joinElement, e4m3ToNumber } from './element.js';
export {
  MAGIC,
  FORMAT_VERSION,
  HEADER_SIZE,
  BYTES_PER_THREAD,
  DEFAULT_THREADS_PER_BLOCK,
  MAX_THREADS_PER_BLOCK,
  MAX_CODE_LENGTH,
  EXPONENT_LOOKAHEAD_BYTES,
  HeaderOffset,
  deriveSizes,
  layoutOf,
  isValidThreadsPerBlock,
  readHeader,
  parseStream,
  type Header,
  type Layout,
  type ParsedStream,
  type DecodeOptions,
} from './header.js';
export { kraftSum, checkCodeLengths, exponentHistogram, buildCodeLengths, totalCodeBits } from './code-lengths.js';
export { canonicalCodes, symbolsInCanonicalOrder, codeString } from './canonical.js';
export { buildDecodeTables, lookupSymbol, POINTER_BASE, type DecodeTables } from './tables.js';
export { encode, encodeInto, maxEncodedSize, type EncodeOptions } from './encode.js';
export { validateMetadata, readPositions, gapOf } from './metadata.js';
export { decode, decodeInto, decodeParsed, verifyContent, checkDecodeTarget, checkOutputRoom } from './decode.js';
export { decodeGpuOrder, decodeGpuOrderInto, countThread, symbolAt, type ThreadCount } from './decode-gpu-order.js';
export { analyze, inspect, inspectHeader, entropyBits, shannonBoundBytes, type Analysis, type StreamInfo, type CodeInfo } from './inspect.js';
export {
  registerBackend,
  unregisterBackend,
  listBackends,
  getBackend,
  resolveBackend,
  referenceBackend,
  gpuOrderBackend,
  type Ecf8Backend,
  type Availability,
} from './backend.js';
export { numberToE4M3, quantizeE4M3, type QuantizedTensor } from './quantize.js';
