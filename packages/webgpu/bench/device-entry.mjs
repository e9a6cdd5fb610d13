// Device-side WebGPU benchmark: the @ecf8/webgpu build + its bench core, bundled; Dawn (npm webgpu) beside it.
import { WebGpuBackend } from '../dist/index.js';
import { runBench } from './bench-core.js';

import { readFileSync } from 'node:fs';
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true]; }));
const backend = new WebGpuBackend();
console.log('availability', JSON.stringify(await backend.isAvailable()));
console.log('adapter', await backend.adapterInfo());
// Correctness on real hardware first: every valid vector byte-identical, every invalid vector's code.
const dir = 'vectors';
const m = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
let ok = 0, bad = 0;
for (const v of m.valid) {
  const s = new Uint8Array(readFileSync(`${dir}/${v.stream}`));
  const want = new Uint8Array(readFileSync(`${dir}/${v.decoded}`));
  const got = await backend.decode(s);
  if (got.length === want.length && got.every((b, i) => b === want[i])) ok++; else { bad++; console.log('MISMATCH', v.name); }
}
for (const v of m.invalid) {
  const s = new Uint8Array(readFileSync(`${dir}/${v.stream}`));
  try { await backend.decode(s); bad++; console.log('ACCEPTED', v.name); } catch (e) { if (e.code === v.error) ok++; else { bad++; console.log('CODE', v.name, e.code, v.error); } }
}
console.log(`vectors: ${ok} passed, ${bad} failed`);
for (const n of (args.sizes ?? '8,32,64,128,256').split(',').map(Number)) {
  await runBench(backend, { n: n * 1024 * 1024, iterations: Number(args.iterations ?? 20), T: 512 });
}
await backend.dispose();
process.exit(0);
