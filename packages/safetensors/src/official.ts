/**
 * Interop with the paper authors' official ECF8 layout (spec/ecf8-safetensors-v1.md §8): the buffers and their decoder
 * (official-buffers.ts), the safe pattern matcher for their pattern dicts (official-pattern.ts), reading a release as
 * they publish it (official-release.ts), and the import and export commands (official-import.ts, official-export.ts).
 */
export { OFFICIAL_BUFFER_NAMES, OFFICIAL_BYTES_PER_THREAD, decodeOfficial, officialBuffersFromStream, emulateOfficialKernel, splitRanges, type OfficialBuffers } from './official-buffers.js';
export { compilePattern, MAX_PATTERN_LENGTH, MAX_PATTERN_STATES, type CompiledPattern } from './official-pattern.js';
export { openRelease, parsePatternDict, INDEX_FILE, CONFIG_FILE, DFLOAT_CONFIG_FILE, PATTERN_DICT_FILE, MAX_OFFICIAL_JSON_BYTES, type Release } from './official-release.js';
export { importOfficial, type ImportOptions, type ImportResult } from './official-import.js';
export { exportOfficial, type ExportOptions, type ExportResult } from './official-export.js';
