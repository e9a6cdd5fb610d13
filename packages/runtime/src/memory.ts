/**
 * Memory accounting of a model kept compressed with one shared decode workspace (the paper's tensor management):
 * resident = compressed FP8 streams + the other tensors as stored + the workspace, against what the same model takes
 * with plain FP8 tensors. Computed from the files' validated layouts alone, so `ecf8 plan` can print it without
 * decoding anything.
 */
import { ErrorCode, fail } from '@ecf8/core';
import { FP8_DTYPE, type CompressedLayout } from '@ecf8/safetensors/layout';

export interface WorkspaceOptions {
  /** Workspace slots (1 = one tensor at a time; 2 = double buffering with prefetch). Default 1. */
  slots?: number;
  /** Bytes per slot. Default: the largest F8_E4M3 tensor. A larger tensor cannot be decoded (ECF8_OUTPUT_TOO_SMALL). */
  workspaceBytes?: number;
}

/**
 * What an open model holds, measured on its placement (`CompressedModel.memory()`; `planMemory`, which reads headers
 * only, leaves it out).
 */
export interface ResidentMeasure {
  placement: string;
  /** Host bytes the resident FP8 streams hold: the streams themselves on the CPU; 0 on WebGPU and CUDA, which keep nothing on the host once uploaded. */
  streamHostBytes: number;
  /**
   * Device bytes the resident FP8 streams hold: WebGPU, the input buffers (the stream's sections in the kernel's
   * layout) and result words; CUDA, each stream padded to 16 bytes plus its decode tables and CRC tables
   * (`ecf8_device_stream_bytes`: about 21-23 KiB of tables per stream). `compressedBytes` plus a per-stream overhead.
   */
  streamDeviceBytes: number;
  /** Device memory for decoding besides the workspace: on CUDA, each slot's ecf8 decode workspace (error word and CRC partials, `ecf8_device_workspace_size`). */
  decodeScratchBytes: number;
}

export interface MemoryReport {
  files: number;
  tensors: number;
  fp8Tensors: number;
  /** The FP8 tensors' bytes in plain form. */
  plainFp8Bytes: number;
  /** Their ECF8 streams: what stays resident. */
  compressedBytes: number;
  /** Every other tensor, kept as stored. */
  otherBytes: number;
  slots: number;
  /** Bytes per slot. */
  slotBytes: number;
  /** The whole workspace (slots x slotBytes, before any GPU alignment padding between slots). */
  workspaceBytes: number;
  largestTensor: { name: string; bytes: number } | null;
  /** compressed + other + workspace. */
  residentBytes: number;
  /** The same tensors with plain FP8: plainFp8 + other. */
  plainBytes: number;
  /** Measured on an open model (see {@link ResidentMeasure}). */
  resident?: ResidentMeasure;
}

export function checkWorkspaceOptions(options: WorkspaceOptions): { slots: number; workspaceBytes: number | undefined } {
  const slots = options.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1 || slots > 64) fail(ErrorCode.INVALID_ARGUMENT, `slots must be an integer in 1..64 (got ${slots})`);
  const w = options.workspaceBytes;
  if (w !== undefined && (!Number.isSafeInteger(w) || w < 0)) fail(ErrorCode.INVALID_ARGUMENT, `workspaceBytes must be a non-negative integer (got ${w})`);
  return { slots, workspaceBytes: w };
}

/** The accounting for a model made of `layouts` (one per compressed file) with the given workspace. */
export function planMemory(layouts: readonly CompressedLayout[], options: WorkspaceOptions = {}): MemoryReport {
  const { slots, workspaceBytes } = checkWorkspaceOptions(options);
  let tensors = 0;
  let fp8Tensors = 0;
  let plainFp8Bytes = 0;
  let compressedBytes = 0;
  let otherBytes = 0;
  let largestTensor: MemoryReport['largestTensor'] = null;
  for (const layout of layouts) {
    for (const t of layout.original.tensors) {
      tensors++;
      const stream = layout.streams.get(t.name);
      if (stream && t.dtype === FP8_DTYPE) {
        fp8Tensors++;
        plainFp8Bytes += t.byteLength;
        compressedBytes += stream.byteLength;
        if (!largestTensor || t.byteLength > largestTensor.bytes) largestTensor = { name: t.name, bytes: t.byteLength };
      } else {
        otherBytes += layout.copies.get(t.name)?.byteLength ?? t.byteLength;
      }
    }
  }
  const slotBytes = workspaceBytes ?? largestTensor?.bytes ?? 0;
  const workspace = slots * slotBytes;
  return {
    files: layouts.length,
    tensors,
    fp8Tensors,
    plainFp8Bytes,
    compressedBytes,
    otherBytes,
    slots,
    slotBytes,
    workspaceBytes: workspace,
    largestTensor,
    residentBytes: compressedBytes + otherBytes + workspace,
    plainBytes: plainFp8Bytes + otherBytes,
  };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`.padStart(12);
const share = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');

/** The report as aligned text lines (what `ecf8 plan` prints). */
export function formatMemoryReport(r: MemoryReport, where = ''): string {
  const largest = r.largestTensor ? `largest tensor ${r.largestTensor.name}, ${r.largestTensor.bytes} B` : 'no FP8 tensors';
  return [
    `${r.files} file${r.files === 1 ? '' : 's'}, ${r.tensors} tensors, ${r.fp8Tensors} F8_E4M3${where ? `; resident on ${where}` : ''}`,
    `  FP8 tensors, plain       ${mib(r.plainFp8Bytes)}`,
    `  FP8 tensors, compressed  ${mib(r.compressedBytes)}  ${share(r.compressedBytes, r.plainFp8Bytes)} of plain`,
    `  other tensors, as stored ${mib(r.otherBytes)}`,
    `  decode workspace         ${mib(r.workspaceBytes)}  ${r.slots} slot${r.slots === 1 ? '' : 's'} x ${r.slotBytes} B (${largest})`,
    `  resident total           ${mib(r.residentBytes)}  vs ${mib(r.plainBytes).trim()} with plain FP8: ${share(r.residentBytes, r.plainBytes)}, ` +
      (r.residentBytes <= r.plainBytes ? `saves ${mib(r.plainBytes - r.residentBytes).trim()}` : `${mib(r.residentBytes - r.plainBytes).trim()} more (the workspace outweighs the savings)`),
    ...measuredLines(r.resident),
  ].join('\n');
}

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

function measuredLines(m: ResidentMeasure | undefined): string[] {
  if (!m || m.placement === 'host') return [];
  return [`  measured on ${m.placement}: streams hold ${mib(m.streamDeviceBytes).trim()} of device memory and ${kib(m.streamHostBytes)} of host memory; decode scratch ${kib(m.decodeScratchBytes)}`];
}
