/**
 * One decode in a fresh process (what a command-line run gets): `tsx first-call.ts <cpu-wasm|cpu-fast> <stream file>`
 * imports the codec, reads the stream, touches an output buffer of n bytes, then times a single decodeInto call
 * (for cpu-wasm that includes compiling and instantiating the module). Prints `{"mbps": ...}` (FP8 bytes / s / 10^6).
 */
import { readFileSync } from 'node:fs';
import { parseStream } from '@ecf8/core';
import { decodeFastInto } from '@ecf8/fast';
import { decodeWasmInto } from '@ecf8/wasm';

const [codec, file] = process.argv.slice(2);
const decoders: Record<string, (s: Uint8Array, out: Uint8Array) => number> = {
  'cpu-wasm': (s, out) => decodeWasmInto(s, out, 0),
  'cpu-fast': (s, out) => decodeFastInto(s, out, 0),
};
const decodeInto = decoders[codec];
if (!decodeInto) throw new Error(`first-call: unknown codec ${codec}`);
const stream = new Uint8Array(readFileSync(file));
const out = new Uint8Array(parseStream(stream).layout.elementCount).fill(1);
const t = performance.now();
const n = decodeInto(stream, out);
const seconds = (performance.now() - t) / 1000;
console.log(JSON.stringify({ mbps: n / 1e6 / seconds }));
