/**
 * Resident streams (CudaBackend.upload) on one backend: bit-exact decodes of one upload at many offsets, decodes
 * enqueued on CUDA streams and collected later, the reference's error codes for bad streams (phases A and B at upload,
 * phase C at decode), argument errors, and use after free. Called by cuda.test.ts (which builds the addon first) for
 * the emulated device layer and for the GPU.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { encode, parseStream, validateMetadata } from '@ecf8/core';
import { loadVectors } from '@ecf8/conformance';
import { loadNative, type CudaBackend, type CudaDeviceBuffer } from '../src/index.js';

const PHASE_C = ['ECF8_GAP_MISMATCH', 'ECF8_POSITION_MISMATCH', 'ECF8_CONTENT_CHECKSUM_MISMATCH'];

function phaseAB(stream: Uint8Array): string | undefined {
  try {
    validateMetadata(parseStream(stream));
    return undefined;
  } catch (e) {
    return (e as { code: string }).code;
  }
}

function fp8Tensor(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    // Mostly exponents near 7 (a weight-like distribution), all sign and mantissa bits.
    const e = 5 + ((x >>> 8) % 5);
    out[i] = ((x >>> 28) & 8 ? 0x80 : 0) | (e << 3) | (x & 7);
  }
  return out;
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

export function describeResidentStreams(backend: CudaBackend, skipReason: string | undefined): void {
  const title = `resident streams on ${backend.name}${skipReason ? ` (skipped: ${skipReason})` : ''}`;
  (skipReason ? describe.skip : describe)(title, () => {
    const data = fp8Tensor(70_001, 7);
    const stream = encode(data);
    const withBuffer = async (bytes: number, f: (b: CudaDeviceBuffer) => Promise<void>) => {
      const b = backend.allocDeviceBuffer(bytes);
      try {
        await f(b);
      } finally {
        backend.freeDeviceBuffer(b);
      }
    };

    it('uploads once and decodes many times, at unaligned offsets, bit-exact, leaving the other bytes alone', async () => {
      const r = await backend.upload(stream);
      expect(r.elementCount).toBe(data.length);
      expect(r.deviceBytes).toBeGreaterThanOrEqual(stream.length);
      expect(r.workspaceBytes).toBe(backend.workspaceSize(data.length));
      expect(r.workspaceBytes % 256).toBe(0);
      await withBuffer(data.length + 64, async (target) => {
        for (const offset of [0, 1, 13, 64]) {
          backend.writeDeviceBuffer(target, new Uint8Array(target.byteLength).fill(0xa5));
          expect(await r.decode(target, offset)).toBe(data.length);
          const back = backend.readDeviceBuffer(target);
          expect(Buffer.from(back.subarray(offset, offset + data.length)).equals(Buffer.from(data)), `offset ${offset}`).toBe(true);
          expect(back.subarray(0, offset).every((b) => b === 0xa5) && back.subarray(offset + data.length).every((b) => b === 0xa5)).toBe(true);
        }
      });
      r.free();
      expect(r.freed).toBe(true);
    });

    it('enqueues decodes on two CUDA streams with one workspace each, collected afterwards', async () => {
      const other = fp8Tensor(4099, 9);
      const [a, b] = [await backend.upload(stream), await backend.upload(encode(other))];
      const streams = [backend.createStream(), backend.createStream()];
      const ws = [a, b].map((r) => backend.allocDeviceBuffer(r.workspaceBytes));
      await withBuffer(data.length + other.length, async (target) => {
        const pending = [a.enqueue(target, 0, { workspace: ws[0], stream: streams[0] }), b.enqueue(target, data.length, { workspace: ws[1], stream: streams[1] })];
        expect(await Promise.all(pending.map((p) => p.wait()))).toEqual([data.length, other.length]);
        const back = backend.readDeviceBuffer(target);
        expect(Buffer.from(back.subarray(0, data.length)).equals(Buffer.from(data))).toBe(true);
        expect(Buffer.from(back.subarray(data.length)).equals(Buffer.from(other))).toBe(true);
      });
      ws.forEach((w) => backend.freeDeviceBuffer(w));
      streams.forEach((s) => backend.destroyStream(s));
      a.free();
      b.free();
    });

    it('rejects every invalid vector with the reference code: phases A and B at upload, phase C at decode', async () => {
      const v = loadVectors();
      for (const x of [...v.invalid, ...v.headerOnly]) {
        const ab = phaseAB(x.stream);
        if (ab !== undefined) {
          expect(await code(backend.upload(x.stream)), x.name).toBe(ab);
          continue;
        }
        expect(PHASE_C, x.name).toContain(x.error);
        const r = await backend.upload(x.stream);
        await withBuffer(r.elementCount, async (target) => {
          expect(await code(r.decode(target)), x.name).toBe(x.error);
        });
        r.free();
      }
    });

    it('verifyChecksums: false skips the content CRC (step 19) at decode', async () => {
      const bad = stream.slice();
      bad[bad.length - 100] ^= 0x11; // two nibbles (section 4 ends the stream): the content changes, the metadata does not
      const r = await backend.upload(bad);
      await withBuffer(data.length, async (target) => {
        expect(await code(r.decode(target))).toBe('ECF8_CONTENT_CHECKSUM_MISMATCH');
        expect(await r.decode(target, 0, { verifyChecksums: false })).toBe(data.length);
      });
      r.free();
    });

    it('argument errors: output too small, workspace too small or misaligned, no workspace, bad stream handle', async () => {
      const r = await backend.upload(stream);
      const ws = backend.allocDeviceBuffer(r.workspaceBytes);
      await withBuffer(data.length, async (target) => {
        expect(await code(r.decode(target, 1))).toBe('ECF8_OUTPUT_TOO_SMALL');
        expect(await code(r.decode({ ...target, byteLength: data.length - 1 }))).toBe('ECF8_OUTPUT_TOO_SMALL');
        expect(await code(() => r.enqueue(target, 0, { workspace: { ...ws, byteLength: r.workspaceBytes - 256 } }))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(() => r.enqueue(target, 0, { workspace: { devicePointer: ws.devicePointer + 16n, byteLength: r.workspaceBytes } }))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(() => r.enqueue(target, 0, undefined as never))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(() => r.enqueue(target, -1, { workspace: ws }))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(() => r.enqueue(target, 0, { workspace: ws, stream: -1n }))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(r.decode({ devicePointer: 5, byteLength: 10 } as never))).toBe('ECF8_INVALID_ARGUMENT');
        // A buffer claimed to run past 2^64: dst + offset wraps around to the target, which the call never named.
        const wrapping = { devicePointer: 2n ** 64n - 256n, byteLength: Number.MAX_SAFE_INTEGER };
        expect(await code(r.decode(wrapping, Number(target.devicePointer) + 256))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await r.enqueue(target, 0, { workspace: ws }).wait()).toBe(data.length); // still usable afterwards
      });
      backend.freeDeviceBuffer(ws);
      r.free();
    });

    it('use after free is ECF8_INVALID_ARGUMENT, never a crash; free() twice does nothing', async () => {
      const r = await backend.upload(stream);
      const ws = backend.allocDeviceBuffer(r.workspaceBytes);
      await withBuffer(data.length, async (target) => {
        const pending = r.enqueue(target, 0, { workspace: ws });
        r.free();
        r.free();
        expect(r.freed).toBe(true);
        expect(await code(pending.wait())).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(r.decode(target))).toBe('ECF8_INVALID_ARGUMENT');
        expect(await code(() => r.enqueue(target, 0, { workspace: ws }))).toBe('ECF8_INVALID_ARGUMENT');
      });
      backend.freeDeviceBuffer(ws);
    });

    it('a stream nobody freed is released by the garbage collector (the addon\'s finalizer); free() releases at once', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const live = () => loadNative().native!.residentCount();
      const before = live();
      const freed = await backend.upload(stream);
      expect(live()).toBe(before + 1);
      freed.free();
      expect(live()).toBe(before);
      for (let i = 0; i < 20; i++) await backend.upload(stream);
      expect(live()).toBe(before + 20);
      for (let i = 0; i < 10 && live() > before; i++) {
        await new Promise((r) => setTimeout(r, 10));
        gc();
      }
      expect(live()).toBe(before);
      const r = await backend.upload(stream);
      await withBuffer(data.length, async (target) => expect(await r.decode(target)).toBe(data.length));
      r.free();
    });

    it.skipIf(!backend.emulated)('emulated device memory: a freed, foreign or out-of-range address is ECF8_INVALID_ARGUMENT', async () => {
      const r = await backend.upload(stream);
      const target = backend.allocDeviceBuffer(data.length);
      backend.freeDeviceBuffer(target);
      expect(await code(r.decode(target))).toBe('ECF8_INVALID_ARGUMENT');
      expect(await code(() => backend.readDeviceBuffer(target, 0, 1))).toBe('ECF8_INVALID_ARGUMENT');
      expect(await code(() => backend.freeDeviceBuffer(target))).toBe('ECF8_INVALID_ARGUMENT');
      expect(await code(r.decode({ devicePointer: 4096n, byteLength: data.length }))).toBe('ECF8_INVALID_ARGUMENT');
      const small = backend.allocDeviceBuffer(10);
      // The caller claims more room than was allocated: the write would leave the block.
      expect(await code(r.decode({ ...small, byteLength: data.length }))).toBe('ECF8_INVALID_ARGUMENT');
      backend.freeDeviceBuffer(small);
      r.free();
    });
  });
}
