/**
 * One model, one fresh process (run by bench.ts): host ArrayBuffer bytes (process.memoryUsage().arrayBuffers after
 * a forced GC) above the baseline, after opening the compressed file with cpu-fast and after each FP8 tensor's
 * `get`; prints the peak and the model's accounting as JSON.
 */
import { cpuFastBackend } from '@ecf8/fast';
import { openModel } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc!;
const sample = () => {
  gc();
  return process.memoryUsage().arrayBuffers;
};
const before = sample();
const model = await openModel<Uint8Array>(process.argv[2], { backend: cpuFastBackend });
const afterOpen = sample() - before;
let peak = afterOpen;
for (const t of model.tensors) {
  if (!t.compressed) continue;
  await model.get(t.name);
  peak = Math.max(peak, sample() - before);
}
console.log(JSON.stringify({ afterOpen, peak, report: model.memory() }));
