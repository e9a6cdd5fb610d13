/**
 * @ecf8/fast — a fast pure-TypeScript ECF8 codec (bit-exact with @ecf8/core) and worker-thread parallel paths.
 * Importing it registers the `cpu-fast` (priority 10) and `cpu-workers` (priority 20) backends.
 */
import { registerBackend, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { decodeFast, decodeFastInto } from './codec.js';
import { decodeParallel, decodeParallelInto, getDefaultPool, terminateDefaultPool, workersAvailable, type ParallelOptions } from './workers.js';

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

/**
 * How long a browser may take to start a worker and answer a first message before cpu-workers is reported
 * unavailable.
 */
const WORKER_START_TIMEOUT_MS = 5000;

/**
 * Worker-thread decoder: Node `worker_threads`, or Web Workers in browsers (transport 'shared' on cross-origin
 * isolated pages, 'transfer' on others). In a browser, availability is checked by starting the default pool and
 * exchanging one message, since a page's Content-Security-Policy can forbid workers from Blob URLs.
 */
export const cpuWorkersBackend: Ecf8Backend<Uint8Array> & { options: ParallelOptions } = {
  name: 'cpu-workers',
  options: {},
  isAvailable: async () => {
    const a = workersAvailable();
    if (!a.available || isNode) return a;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${WORKER_START_TIMEOUT_MS} ms`)), WORKER_START_TIMEOUT_MS);
      });
      const pool = cpuWorkersBackend.options.pool ?? getDefaultPool();
      await Promise.race([pool.run(0, { op: 'ping' }), timeout]);
      return { available: true };
    } catch (e) {
      await terminateDefaultPool();
      return { available: false, reason: `a Web Worker from a Blob URL did not start (${(e as Error)?.message ?? e}); a Content-Security-Policy may forbid it` };
    } finally {
      clearTimeout(timer);
    }
  },
  decode: (stream: Uint8Array, options?: DecodeOptions) => decodeParallel(stream, { ...cpuWorkersBackend.options, ...options }),
  decodeInto: (stream: Uint8Array, target: Uint8Array, offset = 0, options?: DecodeOptions) =>
    decodeParallelInto(stream, target, offset, { ...cpuWorkersBackend.options, ...options }),
  dispose: async () => {
    await terminateDefaultPool();
  },
};

registerBackend(cpuFastBackend, 10);
registerBackend(cpuWorkersBackend, 20);
