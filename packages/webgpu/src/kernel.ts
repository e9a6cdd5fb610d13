/**
 * The decode kernel's shape on a given device: workgroup size, ECF8 threads per invocation, path (staged or direct)
 * and scan (subgroups or workgroup memory), all chosen when the pipeline is created from the device's limits and
 * features — never by the caller. Also assembles the WGSL source (a prelude for the subgroup feature, then
 * decode.wgsl). Shared by the backend (src/backend.ts) and the CPU mirror (src/mirror.ts).
 */
import shaderBody from './decode.wgsl?raw';
import { MULTI_ENTRIES } from './tables.js';

/** The device limits the kernel's shape depends on (a subset of GPUSupportedLimits). */
export interface KernelLimits {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupStorageSize: number;
}

export type KernelPath = 'staged' | 'direct';

export interface KernelConfig {
  /** Invocations per workgroup (a power of two, >= 8). */
  workgroupSize: number;
  /** ECF8 threads per invocation: max(1, T / workgroupSize), at most MAX_THREADS_PER_INVOCATION. */
  threadsPerInvocation: number;
  path: KernelPath;
  /** Words of the staging buffer (8T + 4 when staged). */
  stageWords: number;
  /** Subgroup scan compiled in (the device has the `subgroups` feature). */
  subgroups: boolean;
  /** Workgroup memory the kernel declares, in bytes. */
  workgroupBytes: number;
}

/** Scratch per invocation is 8 ECF8 threads (64 words of private memory). */
export const MAX_THREADS_PER_INVOCATION = 8;
/** Workgroup memory besides the scan and the staging: the §6 tables (576 words), the multi-symbol table, 2 flags. */
const FIXED_WORKGROUP_BYTES = 4 * (576 + MULTI_ENTRIES + 2);

/** Workgroup memory of the kernel for workgroup size `wg` and `stageWords` staging words. */
export function workgroupBytes(wg: number, stageWords: number): number {
  return FIXED_WORKGROUP_BYTES + 16 * wg + 4 * stageWords;
}

const pow2Floor = (x: number) => 2 ** Math.floor(Math.log2(x));

/** What the kernel's shape may depend on besides the limits: the adapter's identity (GPUAdapterInfo fields). */
export interface AdapterIdentity {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

/**
 * Whether the staged path is known to be slower than the direct path on this adapter, so the direct path is used
 * even where the staging buffer fits. Only SwiftShader (Chromium's CPU adapter, vendor `google`, architecture
 * `swiftshader`): measured side by side in one run (docs/benchmarks.md, WebGPU regression guard), its staged path took
 * 1.5-1.8x the previous kernel's time and its direct path 0.7-1.0x; on llvmpipe and GPUs the staged path is the faster.
 */
export function stagedPathSlowOn(adapter: AdapterIdentity | undefined): boolean {
  if (!adapter) return false;
  return [adapter.vendor, adapter.architecture, adapter.device, adapter.description].some((f) => typeof f === 'string' && /swiftshader/i.test(f));
}

/**
 * The kernel's shape for blocks of T threads on a device with `limits` (and `subgroups`), optionally capped at
 * `maxWorkgroupSize` invocations (never below T / 8: each invocation holds at most 8 ECF8 threads' scratch). On an
 * adapter where `stagedPathSlowOn` holds, the direct path is used even where the staging buffer fits.
 */
export function kernelConfig(limits: KernelLimits, T: number, subgroups: boolean, maxWorkgroupSize = Infinity, adapter?: AdapterIdentity): KernelConfig {
  const floor = Math.max(8, T / MAX_THREADS_PER_INVOCATION);
  const cap = Math.min(T, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX, maxWorkgroupSize);
  // At least 8 invocations: Mesa's llvmpipe (8-wide SIMD) has miscompiled kernels with 1-, 2- and 4-wide workgroups,
  // and tiny workgroups are slow everywhere. Blocks with T < 8 leave invocations T.. idle.
  let wg = pow2Floor(Math.max(floor, cap));
  const storage = limits.maxComputeWorkgroupStorageSize;
  const stageWords = 8 * T + 4;
  const make = (w: number, path: KernelPath): KernelConfig => {
    const sw = path === 'staged' ? stageWords : 4;
    return { workgroupSize: w, threadsPerInvocation: Math.max(1, T / w), path, stageWords: sw, subgroups, workgroupBytes: workgroupBytes(w, sw) };
  };
  // Staged when the staging buffer fits, at the largest workgroup size or half of it.
  const stagedAllowed = !stagedPathSlowOn(adapter);
  for (const w of [wg, wg / 2]) if (stagedAllowed && w >= floor && workgroupBytes(w, stageWords) <= storage) return make(w, 'staged');
  while (wg > floor && workgroupBytes(wg, 4) > storage) wg /= 2;
  if (workgroupBytes(wg, 4) > storage) throw new RangeError(`the device's ${storage} bytes of workgroup storage are too few for the decode kernel`);
  return make(wg, 'direct');
}

const PRELUDE_SUBGROUPS = `enable subgroups;
const SUBGROUPS: bool = true;
fn sgInclusiveAdd(x: u32) -> u32 { return subgroupInclusiveAdd(x); }
fn sgAdd(x: u32) -> u32 { return subgroupAdd(x); }
fn sgFirst(x: u32) -> u32 { return subgroupBroadcastFirst(x); }
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32) {
  decodeMain(wid.x, li, sgi, sgs);
}
`;

const PRELUDE_PLAIN = `const SUBGROUPS: bool = false;
fn sgInclusiveAdd(x: u32) -> u32 { return x; }
fn sgAdd(x: u32) -> u32 { return x; }
fn sgFirst(x: u32) -> u32 { return x; }
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  decodeMain(wid.x, li, 0u, 1u);
}
`;

/** The WGSL source of the decode kernel, with or without the subgroup scan. */
export function decodeShader(subgroups: boolean): string {
  return (subgroups ? PRELUDE_SUBGROUPS : PRELUDE_PLAIN) + shaderBody;
}

/** Pipeline-overridable constants for a configuration. */
export function pipelineConstants(c: KernelConfig): Record<string, number> {
  return { WG: c.workgroupSize, R: c.threadsPerInvocation, STAGED: c.path === 'staged' ? 1 : 0, STAGE_WORDS: c.stageWords };
}
