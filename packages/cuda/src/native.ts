/**
 * Loading the native addon (build/ecf8_cuda.node, built from source by scripts/build-native.mjs on install) and its
 * build record (build/status.json). Loading never throws: when the addon is missing or does not load, `loadNative`
 * returns the reason instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Result object of the native calls: the spec's code string, and for device errors the CUDA message. */
export interface NativeResult {
  status: string;
  message?: string;
}

/** A resident stream in the addon (binding/resident.cc): validated and uploaded once, decoded many times. */
export interface NativeResidentStream {
  info(): { elementCount: bigint; workspaceSize: bigint; deviceBytes: bigint; emulated: boolean; freed: boolean };
  /** ecf8_device_decode: returns at once; the phase-C result lands in the workspace. */
  enqueue(dst: bigint, capacity: bigint, offset: bigint, workspace: bigint, workspaceSize: bigint, skipChecksums: boolean, cudaStream: bigint): NativeResult;
  /** ecf8_device_result, waited for off the JavaScript thread. */
  collect(workspace: bigint, cudaStream: bigint): Promise<NativeResult>;
  /** Frees the device memory (at once, or when a collect in flight completes); idempotent. */
  free(): void;
}

/** The functions of the addon (binding/*.cc). 64-bit values are BigInt. */
export interface NativeBinding {
  build(): { cuda: boolean; cudaRuntimeVersion?: number; apiVersion: number };
  /** '' when a GPU can be used, else the reason. */
  cudaAvailable(): string;
  /** Phase A (headerOnly) or phases A and B of spec §11.2 on the host. */
  validate(stream: Uint8Array, skipChecksums: boolean, headerOnly: boolean): NativeResult & { elementCount?: bigint; threadsPerBlock?: number };
  /** Phases A, B and C by the block emulator: the CUDA kernel's own per-thread code, on the CPU. */
  hostDecode(stream: Uint8Array, skipChecksums: boolean): NativeResult & { bytes?: Uint8Array };
  deviceDecode(stream: Uint8Array, skipChecksums: boolean): NativeResult & { bytes?: Uint8Array };
  deviceDecodeInto(stream: Uint8Array, skipChecksums: boolean, devicePointer: bigint, capacity: bigint, offset: bigint): NativeResult;
  deviceAlloc(bytes: number | bigint): bigint;
  deviceFree(devicePointer: bigint): void;
  deviceCopyToHost(devicePointer: bigint, bytes: number | bigint): Uint8Array;
  deviceCopyFromHost(devicePointer: bigint, data: Uint8Array): void;
  /** Phases A and B, then ecf8_device_upload (or, `emulated`, a copy kept by the emulated device layer). */
  upload(stream: Uint8Array, skipChecksums: boolean, emulated: boolean): NativeResult & { handle?: NativeResidentStream };
  /** Resident streams whose memory is not released yet, in this process (leak checks). */
  residentCount(): number;
  /** ecf8_workspace_size_for. */
  workspaceSizeFor(elementCount: number | bigint): bigint;
  streamCreate(): bigint;
  streamDestroy(cudaStream: bigint): void;
  /** The emulated device's memory: checked host blocks addressed like device pointers. */
  emulatedAlloc(bytes: number | bigint): bigint;
  emulatedFree(address: bigint): NativeResult;
  emulatedCopyToHost(address: bigint, bytes: number | bigint): NativeResult & { bytes?: Uint8Array };
  emulatedCopyFromHost(address: bigint, data: Uint8Array): NativeResult;
}

/** What scripts/build-native.mjs recorded. */
export interface BuildStatus {
  ok: boolean;
  cuda: boolean;
  reason: string;
  seconds?: number;
  node?: string;
}

export const ADDON_PATH = fileURLToPath(new URL('../build/ecf8_cuda.node', import.meta.url));
export const STATUS_PATH = fileURLToPath(new URL('../build/status.json', import.meta.url));

export function readBuildStatus(): BuildStatus | undefined {
  try {
    return JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as BuildStatus;
  } catch {
    return undefined;
  }
}

export type Loaded = { native: NativeBinding; status?: BuildStatus } | { native?: undefined; reason: string };

let loaded: Loaded | undefined;

/** Loads the addon once (pass `reload` after rebuilding it in the same process). */
export function loadNative(reload = false): Loaded {
  if (loaded && !reload) return loaded;
  const status = readBuildStatus();
  if (!existsSync(ADDON_PATH)) {
    const why = status && !status.ok ? status.reason : 'the native addon was never built (run `npm run build:native -w @ecf8/cuda`)';
    loaded = { reason: `@ecf8/cuda native addon not built: ${why}` };
    return loaded;
  }
  try {
    const require = createRequire(import.meta.url);
    loaded = { native: require(ADDON_PATH) as NativeBinding, status };
  } catch (e) {
    loaded = { reason: `@ecf8/cuda native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  return loaded;
}
