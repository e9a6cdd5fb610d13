export { loadVectors, firstDifference, DEFAULT_VECTORS_DIR, type VectorSet, type ValidVector, type InvalidVector, type HeaderOnlyVector, type ApiVector, type ApiParameters, API_PARAMETER_NAMES, usesOutputBuffer } from './vectors.js';
export { runDecoderConformance, runEncoderConformance, commandProgram, functionDecoder, toJUnit, type Program, type Report, type CaseResult, type Execution, type DecoderLevel, type EncoderLevel } from './runner.js';
export { conformanceMain } from './cli.js';
