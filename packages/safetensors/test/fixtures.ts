/** Test fixtures: safetensors files with real FP8 weights (the CLI's bundled ESRGAN sample) and every dtype. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSafetensors, DTYPE_BITS } from '../src/index.js';

export const SAMPLE = new Uint8Array(readFileSync(fileURLToPath(new URL('../../cli/samples/default.fp8', import.meta.url))));

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 255;
  }
  return out;
}

export interface T {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
export function tensor(name: string, dtype: string, shape: number[], seed = 7, source?: Uint8Array): T {
  const n = (count(shape) * DTYPE_BITS[dtype]) / 8;
  return { name, dtype, shape, data: source ? source.slice(0, n) : bytes(n, seed) };
}

/** A realistic FP8 checkpoint slice: FP8 linear weights from real weights, F32 scales, BF16 norms and embeddings. */
export function realisticModel(layers = 2, metadata: Record<string, string> | null = { format: 'pt' }): { file: Uint8Array; tensors: T[] } {
  const tensors: T[] = [tensor('model.embed_tokens.weight', 'BF16', [64, 32], 3)];
  let at = 0;
  const take = (n: number) => {
    const s = SAMPLE.subarray(at % SAMPLE.length, (at % SAMPLE.length) + n);
    at += n;
    return s.length === n ? s.slice() : SAMPLE.slice(0, n);
  };
  for (let l = 0; l < layers; l++) {
    for (const [proj, shape] of [
      ['self_attn.q_proj', [128, 256]],
      ['self_attn.k_proj', [64, 256]],
      ['mlp.down_proj', [256, 384]],
    ] as const) {
      tensors.push({ name: `model.layers.${l}.${proj}.weight`, dtype: 'F8_E4M3', shape: [...shape], data: take(shape[0] * shape[1]) });
      tensors.push(tensor(`model.layers.${l}.${proj}.weight_scale`, 'F32', [], 11 + l));
    }
    tensors.push(tensor(`model.layers.${l}.input_layernorm.weight`, 'BF16', [256], 5 + l));
  }
  return { file: buildSafetensors(tensors, metadata), tensors };
}
