/**
 * Builds packages/cli/samples/model.safetensors, the bundled checkpoint that `ecf8 demo` compresses: a small
 * FP8 checkpoint laid out like the FP8 releases of transformer models (F8_E4M3 linear weights with F32 per-tensor
 * scales, BF16 embeddings and norms, `__metadata__` {"format": "pt"}). The FP8 weights are the real ESRGAN weights
 * of samples/default.fp8 (see scripts/make-samples.ts); the BF16/F32 tensors are deterministic synthetic values.
 * No network needed: `npx tsx scripts/make-model-sample.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildSafetensors } from '../packages/safetensors/src/index.js';

const fp8 = new Uint8Array(readFileSync('packages/cli/samples/default.fp8'));
let seed = 2026;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

/** BF16 bytes (round to nearest even from float32) of `n` values from `f`. */
function bf16(n: number, f: () => number): Uint8Array {
  const out = new Uint8Array(2 * n);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) {
    f32[0] = f();
    const u = u32[0];
    const r = (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
    out[2 * i] = r & 0xff;
    out[2 * i + 1] = r >>> 8;
  }
  return out;
}
const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer);

const hidden = 512;
const tensors: { name: string; dtype: string; shape: number[]; data: Uint8Array }[] = [
  { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [1024, 64], data: bf16(1024 * 64, () => gauss() * 0.02) },
];
let at = 0;
for (let l = 0; l < 2; l++) {
  for (const [proj, rows, cols] of [
    ['self_attn.q_proj', 256, hidden],
    ['self_attn.k_proj', 128, hidden],
    ['self_attn.v_proj', 128, hidden],
    ['self_attn.o_proj', hidden, 256],
    ['mlp.up_proj', 128, hidden],
    ['mlp.down_proj', hidden, 128],
  ] as const) {
    const n = rows * cols;
    tensors.push({ name: `model.layers.${l}.${proj}.weight`, dtype: 'F8_E4M3', shape: [rows, cols], data: fp8.slice(at, at + n) });
    tensors.push({ name: `model.layers.${l}.${proj}.weight_scale`, dtype: 'F32', shape: [], data: f32(0.0005 + 0.0001 * rand()) });
    at += n;
  }
  tensors.push({ name: `model.layers.${l}.input_layernorm.weight`, dtype: 'BF16', shape: [hidden], data: bf16(hidden, () => 1 + 0.05 * gauss()) });
  tensors.push({ name: `model.layers.${l}.post_attention_layernorm.weight`, dtype: 'BF16', shape: [hidden], data: bf16(hidden, () => 1 + 0.05 * gauss()) });
}
if (at !== fp8.length) throw new Error(`used ${at} of ${fp8.length} FP8 elements`);
tensors.push({ name: 'model.norm.weight', dtype: 'BF16', shape: [hidden], data: bf16(hidden, () => 1 + 0.05 * gauss()) });
const file = buildSafetensors(tensors, { format: 'pt' });
writeFileSync('packages/cli/samples/model.safetensors', file);
console.log(`wrote packages/cli/samples/model.safetensors: ${file.length} bytes, ${tensors.length} tensors`);
