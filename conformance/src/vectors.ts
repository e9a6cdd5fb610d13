/** Loading the shared test vectors (test-vectors/README.md) with their sha256 manifest checked. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root: src/ (sources) and dist/ (built) both sit one level below it. */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The bundled vectors: the package's own copy (put there when it is packed, scripts/pack-assets.mjs), else the
 * monorepo's test-vectors/ next to the package.
 */
export const DEFAULT_VECTORS_DIR =
  [join(PACKAGE_DIR, 'test-vectors'), join(PACKAGE_DIR, '..', 'test-vectors')].find((d) => existsSync(join(d, 'manifest.json'))) ??
  join(PACKAGE_DIR, 'test-vectors');

export interface ValidVector {
  name: string;
  description: string;
  stream: Uint8Array;
  decoded: Uint8Array;
  tables: Uint8Array;
  elements: number;
  threadsPerBlock: number;
  canonical: boolean;
}

export interface InvalidVector {
  name: string;
  description: string;
  stream: Uint8Array;
  error: string;
}

export interface HeaderOnlyVector extends InvalidVector {
  elements: bigint;
  streamSize: bigint;
}

/**
 * The caller's parameters of an API-level vector (test-vectors/README.md). A consumer that does not support one of
 * them must skip the vector and say so; every key not listed here is unknown to this version of the loader.
 */
export interface ApiParameters {
  /** The caller's cap on decoded bytes: `decode(stream, { maxOutputBytes })` (spec §11.1, ECF8_LIMIT_EXCEEDED). */
  maxOutputBytes?: number;
  /** Decode into a caller-provided buffer of this many bytes (`decodeInto`) rather than a new one. */
  outputBytes?: number;
  /** With `outputBytes`: the byte offset in that buffer where element 0 goes (default 0). */
  outputOffset?: number;
}

export const API_PARAMETER_NAMES: readonly (keyof ApiParameters)[] = ['maxOutputBytes', 'outputBytes', 'outputOffset'];

/** An API-level vector: a stream decoded with the caller's parameters; it either fails with `error` or gives `decoded`. */
export interface ApiVector {
  name: string;
  description: string;
  stream: Uint8Array;
  parameters: ApiParameters;
  /** The expected error code; absent when the call must succeed. */
  error?: string;
  /** The expected bytes when the call succeeds (absent with `error`). */
  decoded?: Uint8Array;
}

/** Whether a vector's call goes through `decodeInto` (a caller-provided output buffer). */
export function usesOutputBuffer(v: ApiVector): boolean {
  return v.parameters.outputBytes !== undefined;
}

export interface VectorSet {
  dir: string;
  /** The revision of spec/ecf8-v1.md the vectors were generated against (absent in older vector sets). */
  specRevision?: string;
  valid: ValidVector[];
  invalid: InvalidVector[];
  headerOnly: HeaderOnlyVector[];
  /** API-level vectors (empty for vector sets that predate them). */
  api: ApiVector[];
  /** Paths relative to `dir`, for runners that hand files to outside programs. */
  paths: Record<string, string>;
}

interface ManifestEntry {
  name: string;
  description: string;
  stream: string;
  decoded?: string;
  tables?: string;
  elements?: number | string;
  threadsPerBlock?: number;
  canonical?: boolean;
  streamSize?: string;
  error?: string;
  parameters?: Record<string, number>;
}

interface Manifest {
  format: string;
  specVersion: number;
  specRevision?: string;
  valid: ManifestEntry[];
  invalid: ManifestEntry[];
  headerOnly: ManifestEntry[];
  api?: ManifestEntry[];
  sha256: Record<string, string>;
}

/** Reads every vector, failing loudly if any file's sha256 differs from the manifest. */
export function loadVectors(dir = DEFAULT_VECTORS_DIR): VectorSet {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`no ECF8 test vectors at ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --vectors DIR`);
  }
  if (manifest.format !== 'ecf8-test-vectors') throw new Error(`${dir}/manifest.json is not an ECF8 vector manifest`);
  const paths: Record<string, string> = {};
  const read = (rel: string): Uint8Array => {
    const bytes = new Uint8Array(readFileSync(join(dir, rel)));
    const want = manifest.sha256[rel];
    const got = createHash('sha256').update(bytes).digest('hex');
    if (want !== got) throw new Error(`test vector ${rel}: sha256 ${got} differs from the manifest's ${want}`);
    paths[rel] = join(dir, rel);
    return bytes;
  };
  return {
    dir,
    ...(manifest.specRevision ? { specRevision: manifest.specRevision } : {}),
    valid: manifest.valid.map((e) => ({
      name: e.name,
      description: e.description,
      stream: read(e.stream),
      decoded: read(e.decoded!),
      tables: read(e.tables!),
      elements: Number(e.elements),
      threadsPerBlock: e.threadsPerBlock ?? 512,
      canonical: e.canonical ?? false,
    })),
    invalid: manifest.invalid.map((e) => ({ name: e.name, description: e.description, stream: read(e.stream), error: e.error! })),
    headerOnly: manifest.headerOnly.map((e) => ({
      name: e.name,
      description: e.description,
      stream: read(e.stream),
      error: e.error!,
      elements: BigInt(e.elements!),
      streamSize: BigInt(e.streamSize!),
    })),
    api: (manifest.api ?? []).map((e) => {
      const parameters = e.parameters ?? {};
      for (const [k, v] of Object.entries(parameters)) {
        if (!(API_PARAMETER_NAMES as readonly string[]).includes(k)) throw new Error(`api vector ${e.name}: unknown parameter ${k}`);
        if (!Number.isSafeInteger(v) || v < 0) throw new Error(`api vector ${e.name}: parameter ${k} = ${v} is not a non-negative integer`);
      }
      return {
        name: e.name,
        description: e.description,
        stream: read(e.stream),
        parameters,
        ...(e.error ? { error: e.error } : { decoded: read(e.decoded!) }),
      };
    }),
    paths,
  };
}

/** Byte equality (never a tolerance). Returns the first differing index, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
