/**
 * A compressed model kept compressed: every F8_E4M3 tensor's ECF8 stream stays resident on the backend (host memory,
 * or uploaded once to the GPU) and is decoded just before use into one shared workspace allocated at open, sized to
 * the largest tensor (the paper's tensor management). Non-FP8 tensors stay as stored, in host memory.
 *
 * Opening validates the files as `ecf8 verify` does (spec Appendix A.4): the safetensors structure, the `ecf8.*`
 * metadata (@ecf8/safetensors' readCompressedLayout), a directory's index files against its shards (checkIndexes),
 * every stream's element count against its tensor, and, with
 * `verify: 'full'` (the default), every stream decoded by the chosen backend and the SHA-256 of the original file
 * rebuilt tensor by tensor; `verify: 'metadata'` checks streams' headers and metadata only (spec §11.2 phases A, B).
 */
import { addContext, checkIndexShards, FP8_DTYPE, headerSizeOf, ModelErrorCode, parseHeaderBytes, parseIndex, readCompressedLayout, Sha256, type CompressedLayout, type SafetensorsHeader } from '@ecf8/safetensors/layout';
import { ErrorCode, fail, parseStream, readHeader, validateMetadata, type Ecf8Backend } from '@ecf8/core';
import { checkWorkspaceOptions, planMemory, type MemoryReport, type WorkspaceOptions } from './memory.js';
import { cudaPlacement, hostPlacement, placementKindOf, webGpuPlacement, type CudaDeviceBuffer, type CudaLikeBackend, type Placement, type PlacementKind, type WebGpuLikeBackend } from './placement.js';
import { openModelFiles, type IndexFile, type ModelSource, type Shard } from './sources.js';

export interface OpenOptions<Target = unknown> extends WorkspaceOptions {
  /** The decoding backend (from @ecf8/core's registry, @ecf8/fast, @ecf8/webgpu, @ecf8/cuda). */
  backend: Ecf8Backend<Target>;
  /** Where streams and workspace live; default from the backend (see placement.ts). */
  placement?: PlacementKind;
  /** 'full' (default): decode every stream once and check the original SHA-256, as `ecf8 verify`; 'metadata': headers only. */
  verify?: 'full' | 'metadata';
}

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: readonly number[];
  /** Bytes of the tensor in plain form. */
  byteLength: number;
  /** Bytes kept resident: the stream for F8_E4M3 tensors, the tensor itself otherwise. */
  storedBytes: number;
  compressed: boolean;
  /** The file (shard) that holds it. */
  file: string;
}

/** A decoded tensor in the workspace; valid until a later `get`/`prefetch` reuses its slot. */
export interface TensorView<Target = unknown> {
  name: string;
  shape: readonly number[];
  byteLength: number;
  slot: number;
  /** The whole workspace (Uint8Array, GPUBuffer or CUDA device buffer) and the tensor's byte offset in it. */
  target: Target;
  offset: number;
  /** Host placement: the decoded bytes (a view of the workspace). */
  bytes?: Uint8Array;
  /** CUDA placement: the device address of the tensor's first byte. */
  devicePointer?: bigint;
}

export interface GetOptions {
  /** WebGPU placement: record the decode into this GPUCommandEncoder instead of submitting it (you submit it). */
  encoder?: unknown;
  /**
   * CUDA placement: enqueue the decode on this CUDA stream (a `cudaStream_t` as a BigInt, e.g. PyTorch's
   * `torch.cuda.current_stream().cuda_stream`) and resolve without waiting for it; work you enqueue on that stream
   * afterwards sees the bytes. Its result is collected off the JavaScript thread; a failed decode empties the slot,
   * and the next `get` of a tensor in that slot waits for the decode and reports its error.
   */
  stream?: bigint;
}

interface Entry extends TensorEntry {
  resident?: unknown;
  raw?: Uint8Array;
}

interface Slot {
  name: string | null;
  ready: Promise<void>;
  lastUse: number;
  /** CUDA: the result of a decode enqueued on the caller's stream (`get(name, { stream })`), until it is collected. */
  recorded: Promise<void> | null;
}

export class CompressedModel<Target = unknown> {
  readonly placement: PlacementKind;
  /** Every tensor of the original model, in file order. */
  readonly tensors: readonly TensorEntry[];
  private readonly byName: Map<string, Entry>;
  private readonly slots: Slot[];
  private current = -1;
  private clock = 0;
  private closed = false;

  /** @internal use {@link openModel} */
  constructor(
    private readonly impl: Placement<Target, unknown>,
    entries: Entry[],
    private readonly layouts: CompressedLayout[],
    /** The workspace (all slots). */
    readonly workspace: Target,
    readonly slotBytes: number,
    private readonly slotStride: number,
    slots: number,
  ) {
    this.placement = impl.kind;
    this.byName = new Map(entries.map((e) => [e.name, e]));
    this.tensors = entries.map(({ resident: _r, raw: _w, ...info }) => info);
    this.slots = Array.from({ length: slots }, () => ({ name: null, ready: Promise.resolve(), lastUse: 0, recorded: null }));
  }

  /** A tensor's description; ECF8_INVALID_ARGUMENT for a name the model does not have. */
  tensor(name: string): TensorEntry {
    const e = this.byName.get(name);
    if (!e) fail(ErrorCode.INVALID_ARGUMENT, `no tensor ${JSON.stringify(name)} in this model`);
    return e;
  }

  /** The bytes of a tensor that is not F8_E4M3, as stored (host memory). */
  bytes(name: string): Uint8Array {
    const e = this.byName.get(name);
    if (!e) fail(ErrorCode.INVALID_ARGUMENT, `no tensor ${JSON.stringify(name)} in this model`);
    if (!e.raw) fail(ErrorCode.INVALID_ARGUMENT, `${JSON.stringify(name)} is a compressed ${e.dtype} tensor: decode it with get()`);
    return e.raw;
  }

  /**
   * Decodes an F8_E4M3 tensor into a workspace slot (unless a slot already holds it) and returns where it is. With
   * `encoder` (GPU placements) the decode is recorded into it and the view is valid once you submit it.
   */
  async get(name: string, options: GetOptions = {}): Promise<TensorView<Target>> {
    const { entry, index } = this.load(name, options, true);
    await this.slots[index].ready;
    return this.view(entry, index);
  }

  /**
   * Starts decoding `name` into a slot other than the one of the last `get` (with `slots: 2`, the next tensor while
   * the current one is in use); a later `get(name)` returns it without decoding again. With one slot it decodes into
   * that slot, which ends the last view.
   */
  async prefetch(name: string, options: GetOptions = {}): Promise<void> {
    await this.slots[this.load(name, options, false).index].ready;
  }

  /**
   * Resident bytes, workspace and the plain FP8 size (see memory.ts), with what the resident streams hold on this
   * placement, measured (`resident`).
   */
  memory(): MemoryReport {
    const report = planMemory(this.layouts, { slots: this.slots.length, workspaceBytes: this.slotBytes });
    let streamHostBytes = 0;
    let streamDeviceBytes = 0;
    for (const e of this.byName.values()) {
      if (e.resident === undefined || this.closed) continue;
      const b = this.impl.residentBytes(e.resident);
      streamHostBytes += b.host;
      streamDeviceBytes += b.device;
    }
    report.resident = { placement: this.placement, streamHostBytes, streamDeviceBytes, decodeScratchBytes: this.closed ? 0 : this.impl.scratchBytes() };
    return report;
  }

  /** Frees the workspace and every resident stream. The model cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A slot's ready settles once its decode is done or, for get(name, { stream }), enqueued, which sets `recorded`:
    // wait for the first, then for the decodes enqueued on callers' streams, before freeing what they use.
    await Promise.allSettled(this.slots.map((s) => s.ready));
    await Promise.allSettled(this.slots.map((s) => s.recorded));
    for (const e of this.byName.values()) if (e.resident !== undefined) this.impl.release(e.resident);
    this.impl.freeWorkspace(this.workspace);
  }

  private load(name: string, options: GetOptions, makeCurrent: boolean): { entry: Entry; index: number } {
    if (this.closed) fail(ErrorCode.INVALID_ARGUMENT, 'this model has been closed');
    const entry = this.byName.get(name);
    if (!entry) fail(ErrorCode.INVALID_ARGUMENT, `no tensor ${JSON.stringify(name)} in this model`);
    if (entry.resident === undefined) fail(ErrorCode.INVALID_ARGUMENT, `${JSON.stringify(name)} is ${entry.dtype}, not compressed: read it with bytes()`);
    if (entry.byteLength > this.slotBytes) {
      fail(ErrorCode.OUTPUT_TOO_SMALL, `tensor ${JSON.stringify(name)} needs ${entry.byteLength} bytes but a workspace slot holds ${this.slotBytes} (open with a larger workspaceBytes)`);
    }
    if (options.encoder !== undefined && this.placement !== 'webgpu') fail(ErrorCode.INVALID_ARGUMENT, `the ${this.placement} placement cannot record into an encoder`);
    if (options.stream !== undefined && (this.placement !== 'cuda' || typeof options.stream !== 'bigint')) {
      fail(ErrorCode.INVALID_ARGUMENT, this.placement === 'cuda' ? 'stream must be a cudaStream_t as a BigInt' : `the ${this.placement} placement has no CUDA streams`);
    }
    let index = this.slots.findIndex((s) => s.name === name);
    if (index >= 0 && this.slots[index].recorded) {
      // Decoded on the caller's CUDA stream: wait for it (and report its error) before handing the slot out again.
      const { recorded } = this.slots[index];
      this.slots[index].ready = this.slots[index].ready.then(() => recorded!);
    }
    if (index < 0) {
      index = this.victim();
      const slot = this.slots[index];
      const offset = index * this.slotStride;
      const at = index;
      // Decodes into one slot run one after another (an asynchronous CPU backend must not overlap two writers; on
      // CUDA, a decode enqueued on the caller's stream finishes before the slot's own stream writes the slot again).
      const previous = slot.ready.catch(() => {}).then(() => slot.recorded?.catch(() => {}));
      const failed = (e: unknown): never => {
        if (slot.name === name) slot.name = null;
        throw addContext(e, `tensor ${JSON.stringify(name)}`);
      };
      if (options.encoder !== undefined) {
        this.impl.record!(entry.resident, options.encoder, this.workspace, offset, at);
        slot.name = name;
        slot.ready = Promise.resolve();
        return this.touch(entry, index, makeCurrent);
      }
      slot.name = name;
      if (options.stream !== undefined) {
        const stream = options.stream;
        slot.ready = previous
          .then(() => {
            const pending = this.impl.record!(entry.resident, stream, this.workspace, offset, at)!;
            slot.recorded = pending.wait().then(() => undefined, failed);
            slot.recorded.catch(() => {}); // reported by the next get of this slot's tensor
          })
          .catch(failed);
      } else {
        slot.ready = previous
          .then(() => {
            slot.recorded = null;
            return this.impl.decode(entry.resident, this.workspace, offset, at);
          })
          .catch(failed);
      }
    }
    return this.touch(entry, index, makeCurrent);
  }

  private touch(entry: Entry, index: number, makeCurrent: boolean): { entry: Entry; index: number } {
    this.slots[index].lastUse = ++this.clock;
    if (makeCurrent) this.current = index;
    return { entry, index };
  }

  /** The least recently used slot, never the one holding the last `get`'s tensor when there are two or more. */
  private victim(): number {
    let best = -1;
    this.slots.forEach((s, i) => {
      if (i === this.current && this.slots.length > 1) return;
      if (best < 0 || s.lastUse < this.slots[best].lastUse) best = i;
    });
    return best;
  }

  private view(entry: Entry, index: number): TensorView<Target> {
    const offset = index * this.slotStride;
    const v: TensorView<Target> = { name: entry.name, shape: entry.shape, byteLength: entry.byteLength, slot: index, target: this.workspace, offset };
    if (this.placement === 'host') v.bytes = (this.workspace as Uint8Array).subarray(offset, offset + entry.byteLength);
    if (this.placement === 'cuda') v.devicePointer = (this.workspace as CudaDeviceBuffer).devicePointer + BigInt(offset);
    return v;
  }
}

async function readShardHeader(shard: Shard): Promise<SafetensorsHeader> {
  const prefix = await shard.read(0, Math.min(8, shard.size));
  const n = headerSizeOf(prefix, shard.size);
  return parseHeaderBytes(await shard.read(8, n), shard.size - 8 - n, shard.size);
}

async function placementFor<Target>(backend: Ecf8Backend<Target>, kind: PlacementKind): Promise<Placement<Target, unknown>> {
  const p = kind === 'webgpu' ? await webGpuPlacement(backend as unknown as WebGpuLikeBackend) : kind === 'cuda' ? await cudaPlacement(backend as unknown as CudaLikeBackend) : hostPlacement(backend as unknown as Ecf8Backend<Uint8Array>);
  return p as unknown as Placement<Target, unknown>;
}

/**
 * Opens a compressed model: a compressed `.safetensors` file or a directory of them (paths: Node only), the bytes of
 * one (ArrayBuffer, typed array, fetch Response), a Blob/File, or an array of shards. See the module comment.
 */
export async function openModel<Target = unknown>(source: ModelSource, options: OpenOptions<Target>): Promise<CompressedModel<Target>> {
  const { backend } = options;
  if (!backend || typeof backend.decodeInto !== 'function') fail(ErrorCode.INVALID_ARGUMENT, 'options.backend must be an ECF8 backend');
  const { slots, workspaceBytes } = checkWorkspaceOptions(options);
  const verify = options.verify ?? 'full';
  if (verify !== 'full' && verify !== 'metadata') fail(ErrorCode.INVALID_ARGUMENT, `verify must be 'full' or 'metadata' (got ${JSON.stringify(verify)})`);
  const availability = await backend.isAvailable();
  if (!availability.available) fail(ErrorCode.BACKEND_UNAVAILABLE, `${backend.name}: ${availability.reason}`);

  const { shards, indexes } = await openModelFiles(source);
  const entries: Entry[] = [];
  let impl: Placement<Target, unknown> | undefined;
  let workspace: Target | undefined;
  try {
    // 1. Headers and metadata of every shard, before anything is read or allocated from them.
    const files: { shard: Shard; header: SafetensorsHeader; layout: CompressedLayout }[] = [];
    const owner = new Map<string, string>();
    for (const shard of shards) {
      try {
        const header = await readShardHeader(shard);
        const layout = readCompressedLayout(header);
        for (const t of layout.original.tensors) {
          const other = owner.get(t.name);
          if (other !== undefined) fail(ModelErrorCode.BAD_SAFETENSORS as ErrorCode, `tensor ${JSON.stringify(t.name)} is also in ${other}`);
          owner.set(t.name, shard.name);
        }
        files.push({ shard, header, layout });
      } catch (e) {
        throw addContext(e, shard.name);
      }
    }
    await checkIndexes(indexes, files);
    const plan = planMemory(
      files.map((f) => f.layout),
      { slots, workspaceBytes },
    );
    impl = await placementFor(backend, options.placement ?? placementKindOf(backend));
    const stride = impl.slotStride(plan.slotBytes);
    workspace = await impl.allocateWorkspace(slots * stride, slots, plan.slotBytes);

    // 2. Tensor by tensor in the original data order: streams checked and made resident, other tensors kept.
    for (const { shard, header, layout } of files) {
      const hash = verify === 'full' ? new Sha256() : null;
      try {
        const prefix = new Uint8Array(8);
        new DataView(prefix.buffer).setBigUint64(0, BigInt(layout.original.headerSize), true);
        hash?.update(prefix).update(layout.original.headerBytes);
        for (const t of layout.original.tensors) {
          const stream = layout.streams.get(t.name);
          const stored = stream ?? layout.copies.get(t.name)!;
          const bytes = await shard.read(header.dataOffset + stored.begin, stored.byteLength);
          const entry: Entry = { name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, storedBytes: stored.byteLength, compressed: !!stream, file: shard.name };
          if (!stream) {
            hash?.update(bytes);
            // On a GPU, a view would keep the whole in-memory file alive for a few small tensors: copy them.
            entry.raw = shard.inMemory && impl.kind !== 'host' ? bytes.slice() : bytes;
            entries.push(entry);
            continue;
          }
          try {
            const n = readHeader(bytes).elementCount;
            if (n !== BigInt(t.elementCount)) fail(ModelErrorCode.BAD_MODEL_METADATA as ErrorCode, `stream holds ${n} elements but the tensor has ${t.elementCount}`);
            if (!hash) validateMetadata(parseStream(bytes), true);
            entry.resident = await impl.makeResident(bytes);
            entries.push(entry); // from here on, a failure releases it (below)
            if (hash) hash.update(await decodeForCheck(backend, impl, entry.resident, bytes, t.byteLength, workspace, plan.slotBytes));
          } catch (e) {
            throw addContext(e, `tensor ${JSON.stringify(t.name)} (stream ${JSON.stringify(stream.name)})`);
          }
        }
        if (hash) {
          const sha = hash.hex();
          if (sha !== layout.sha256) fail(ModelErrorCode.MODEL_CHECKSUM_MISMATCH as ErrorCode, `restored file has SHA-256 ${sha}, expected ${layout.sha256} (a copied tensor or the header was altered)`);
        }
      } catch (e) {
        throw addContext(e, shard.name);
      }
    }
    return new CompressedModel<Target>(impl, entries, files.map((f) => f.layout), workspace, plan.slotBytes, stride, slots);
  } catch (e) {
    if (impl) {
      for (const en of entries) if (en.resident !== undefined) impl.release(en.resident);
      if (workspace !== undefined) impl.freeWorkspace(workspace);
    }
    throw e;
  } finally {
    await Promise.all(shards.map((s) => s.close()));
  }
}

/**
 * A directory's `*.safetensors.index.json` files checked against its shards as `ecf8 verify DIR` does (model-file
 * spec §5, @ecf8/safetensors' checkIndexShards): the `ecf8` entry, every shard the index names, and the recorded
 * shard checksums; a missing or swapped shard is ECF8_MISSING_SHARD.
 */
async function checkIndexes(indexes: readonly IndexFile[], files: readonly { shard: Shard; header: SafetensorsHeader; layout: CompressedLayout }[]): Promise<void> {
  const byName = new Map(files.map((f) => [f.shard.name, f]));
  for (const { name, bytes } of indexes) await checkIndexShards(parseIndex(bytes, name), name, name, (path) => byName.get(path) ?? null);
}

/**
 * Decodes a stream once for `verify: 'full'`: the resident copy into slot 0 of the workspace when it fits and the
 * placement can read it back (host, CUDA), else the backend's decode() of the host bytes (WebGPU).
 */
async function decodeForCheck<Target>(backend: Ecf8Backend<Target>, impl: Placement<Target, unknown>, resident: unknown, stream: Uint8Array, n: number, workspace: Target, slotBytes: number): Promise<Uint8Array> {
  if (n <= slotBytes && (impl.kind === 'host' || impl.readBack)) {
    await impl.decode(resident, workspace, 0, 0);
    return impl.readBack ? impl.readBack(workspace, 0, n) : (workspace as Uint8Array).subarray(0, n);
  }
  return backend.decode(stream);
}
