/**
 * @ecf8/fast — a fast pure-TypeScript ECF8 codec (bit-exact with @ecf8/core) and worker-thread parallel paths.
 * Importing it registers the `cpu-fast` (priority 10) and `cpu-workers` (priority 20) backends.
 */
import { registerBackend, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { decodeFast, decodeFastInto } from './codec.js';
import { chooseTransport, decodeParallel, decodeParallelInto, getDefaultPool, terminateDefaultPool, workersAvailable, type ParallelOptions } from './workers.js';

export {
  checkMetadataCrc,
  crc32c,
  crc32cUpdate,
  crc32cCombine,
  decodeFast,
  decodeFastInto,
  encodeFast,
  encodeFastInto,
  finishStream,
  geometryOf,
  reportPhaseC,
  validateMetadataFast,
} from './codec.js';
export {
  chooseTransport,
  decodeParallel,
  decodeParallelInto,
  encodeParallel,
  WorkerPool,
  getDefaultPool,
  terminateDefaultPool,
  workersAvailable,
  defaultThreadCount,
  WORKER_SOURCE,
  workerSource,
  type ParallelOptions,
  type WorkerKernelProvider,
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

/**
 * Worker-thread decoder: Node `worker_threads`, or Web Workers in browsers (transport 'shared' on cross-origin
 * isolated pages; on others only when `options.transport` is 'copy'). Available once the pool's workers have
 * started and answered a first message (checked once per pool, never queued behind work), since in a browser a
 * page's Content-Security-Policy can forbid workers from Blob URLs.
 */
export const cpuWorkersBackend: Ecf8Backend<Uint8Array> & { options: ParallelOptions } = {
  name: 'cpu-workers',
  options: {},
  isAvailable: async () => {
    const a = workersAvailable();
    if (!a.available) return a;
    try {
      // No transport (no SharedArrayBuffer, none asked for) means the calling thread would do the work.
      if (chooseTransport(cpuWorkersBackend.options) === null) {
        return {
          available: false,
          reason:
            'SharedArrayBuffer is unavailable (the page is not cross-origin isolated), and copying the data to workers ' +
            "costs more than it gains on few cores; set cpuWorkersBackend.options.transport = 'copy' to use them anyway",
        };
      }
      await (cpuWorkersBackend.options.pool ?? getDefaultPool()).ready();
      return { available: true };
    } catch (e) {
      return { available: false, reason: (e as Error)?.message ?? String(e) };
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
