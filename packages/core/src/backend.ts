/**
 * The backend interface that decoding packages implement (CPU, WebGPU, CUDA), and the registry that resolves them by
 * priority. Resolution keeps every backend's failure reason and reports them all.
 */
import { decode, decodeInto } from './decode.js';
import { decodeGpuOrder, decodeGpuOrderInto } from './decode-gpu-order.js';
import { Ecf8Error, ErrorCode, fail } from './errors.js';
import type { DecodeOptions } from './header.js';

export type Availability = { available: true } | { available: false; reason: string };

/**
 * A decoding backend. `Target` is where `decodeInto` writes: a `Uint8Array` for CPU backends, a `GPUBuffer` for
 * WebGPU, a device-memory handle for CUDA (each package documents its own).
 */
export interface Ecf8Backend<Target = unknown> {
  readonly name: string;
  /** Whether the backend can run here; when not, a human-readable reason. Never throws. */
  isAvailable(): Promise<Availability>;
  /** Decodes a stream to host bytes. Invalid streams reject with {@link Ecf8Error} and the spec's code. */
  decode(stream: Uint8Array, options?: DecodeOptions): Promise<Uint8Array>;
  /** Decodes into `target` at `offset` (bytes); resolves to the number of elements written. */
  decodeInto(stream: Uint8Array, target: Target, offset?: number, options?: DecodeOptions): Promise<number>;
  /** Releases devices, pipelines and buffers. */
  dispose(): Promise<void> | void;
}

interface Registration {
  backend: Ecf8Backend;
  priority: number;
}

const registry = new Map<string, Registration>();

/** Registers (or replaces) a backend; higher priority wins in {@link resolveBackend}. */
export function registerBackend(backend: Ecf8Backend<any>, priority: number): void {
  registry.set(backend.name, { backend, priority });
}

export function unregisterBackend(name: string): boolean {
  return registry.delete(name);
}

/** Registered backends, highest priority first. */
export function listBackends(): { name: string; priority: number; backend: Ecf8Backend }[] {
  return [...registry.entries()]
    .map(([name, r]) => ({ name, priority: r.priority, backend: r.backend }))
    .sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
}

export function getBackend(name: string): Ecf8Backend | undefined {
  return registry.get(name)?.backend;
}

/**
 * The first available backend among `names` (in that order), or among all registered backends by priority.
 * Throws ECF8_BACKEND_UNAVAILABLE listing every candidate's reason when none is available.
 */
export async function resolveBackend(names?: string | string[]): Promise<Ecf8Backend> {
  const wanted = names === undefined ? listBackends().map((b) => b.name) : Array.isArray(names) ? names : [names];
  const reasons: string[] = [];
  for (const name of wanted) {
    const backend = registry.get(name)?.backend;
    if (!backend) {
      reasons.push(`${name}: not registered (known: ${[...registry.keys()].join(', ') || 'none'})`);
      continue;
    }
    let availability: Availability;
    try {
      availability = await backend.isAvailable();
    } catch (e) {
      availability = { available: false, reason: `availability check threw: ${(e as Error).message}` };
    }
    if (availability.available) return backend;
    reasons.push(`${name}: ${availability.reason}`);
  }
  fail(ErrorCode.BACKEND_UNAVAILABLE, `no usable backend; ${reasons.join('; ') || 'none registered'}`);
}

function cpuBackend(
  name: string,
  decodeFn: (s: Uint8Array, o?: DecodeOptions) => Uint8Array,
  intoFn: (s: Uint8Array, out: Uint8Array, offset?: number, o?: DecodeOptions) => number,
): Ecf8Backend<Uint8Array> {
  return {
    name,
    isAvailable: async () => ({ available: true }),
    decode: async (stream, options) => decodeFn(stream, options),
    decodeInto: async (stream, target, offset = 0, options) => intoFn(stream, target, offset, options),
    dispose: () => {},
  };
}

/** The pure-TypeScript sequential reference decoder; always available. */
export const referenceBackend = cpuBackend('reference', decode, decodeInto);
/** The pure-TypeScript GPU-order decoder (spec §13 executed on the CPU). */
export const gpuOrderBackend = cpuBackend('reference-gpu-order', decodeGpuOrder, decodeGpuOrderInto);

registerBackend(referenceBackend, 0);
registerBackend(gpuOrderBackend, -1);

export { Ecf8Error };
