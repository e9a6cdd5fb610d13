/**
 * @ecf8/fast — a fast pure-TypeScript ECF8 codec (bit-exact with @ecf8/core) and worker-thread parallel paths.
 * Importing it registers the `cpu-fast` (priority 10) and, in Node, `cpu-workers` (priority 20) backends.
 */
import { registerBackend, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { decodeFast, decodeFastInto } from './codec.js';
import { decodeParallel, decodeParallelInto, workersAvailable, type ParallelOptions } from './workers.js';

export { crc32c, crc32cUpdate, crc32cCombine, decodeFast, decodeFastInto, encodeFast, encodeFastInto, validateMetadataFast } from './codec.js';
export {
  decodeParallel,
  decodeParallelInto,
  encodeParallel,
  WorkerPool,
  getDefaultPool,
  terminateDefaultPool,
  workersAvailable,
  defaultThreadCount,
  WORKER_SOURCE,
  type ParallelOptions,
} from './workers.js';
export { createKernel, type Kernel } from './kernel.js';

/** Single-thread fast decoder as a backend (always available). */
export const cpuFastBackend: Ecf8Backend<Uint8Array> = {
  name: 'cpu-fast',
  isAvailable: async () => ({ available: true }),
  decode: async (stream, options) => decodeFast(stream, options),
  decodeInto: async (stream, target, offset = 0, options) => decodeFastInto(stream, target, offset, options),
  dispose: () => {},
};

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

/** Worker-thread decoder (Node only as a registered backend; the functions themselves also run in browsers). */
export const cpuWorkersBackend: Ecf8Backend<Uint8Array> & { options: ParallelOptions } = {
  name: 'cpu-workers',
  options: {},
  isAvailable: async () => {
    if (!isNode) return { available: false, reason: 'the cpu-workers backend is registered for Node worker_threads only' };
    return workersAvailable();
  },
  decode: (stream: Uint8Array, options?: DecodeOptions) => decodeParallel(stream, { ...cpuWorkersBackend.options, ...options }),
  decodeInto: (stream: Uint8Array, target: Uint8Array, offset = 0, options?: DecodeOptions) =>
    decodeParallelInto(stream, target, offset, { ...cpuWorkersBackend.options, ...options }),
  dispose: async () => {
    const { terminateDefaultPool } = await import('./workers.js');
    await terminateDefaultPool();
  },
};

registerBackend(cpuFastBackend, 10);
if (isNode) registerBackend(cpuWorkersBackend, 20);
