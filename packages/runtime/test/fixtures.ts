/** Test inputs: the bundled sample compressed once per test file, and the plain file's tensors for comparison. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compressFile, parseSafetensors } from '@ecf8/safetensors';

export const SAMPLE = resolve(__dirname, '../../cli/samples/model.safetensors');

export interface Fixture {
  dir: string;
  compressedPath: string;
  compressed: Uint8Array;
  plain: Uint8Array;
  /** Plain bytes of a tensor of the uncompressed file. */
  plainTensor(name: string): Uint8Array;
  fp8Names: string[];
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ecf8-runtime-'));
  const compressedPath = join(dir, 'model.safetensors');
  await compressFile(SAMPLE, compressedPath);
  const plain = new Uint8Array(await readFile(SAMPLE));
  const header = parseSafetensors(plain);
  return {
    dir,
    compressedPath,
    compressed: new Uint8Array(await readFile(compressedPath)),
    plain,
    plainTensor: (name) => {
      const t = header.byName.get(name)!;
      return plain.subarray(header.dataOffset + t.begin, header.dataOffset + t.end);
    },
    fp8Names: header.tensors.filter((t) => t.dtype === 'F8_E4M3').map((t) => t.name),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Whether the object behind `ref` is garbage-collected within a few forced collections (WeakRefs clear between jobs). */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 5 && ref.deref(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
  return ref.deref() === undefined;
}
