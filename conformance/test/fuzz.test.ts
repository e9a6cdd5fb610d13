import { describe, expect, it } from 'vitest';
import { coreTargets, fuzz, makeRandom, MUTATORS } from '../src/fuzz.js';
import { loadVectors } from '../src/vectors.js';

const vectors = loadVectors();
const corpus = vectors.valid.filter((v) => v.stream.length <= 16 * 1024).map((v) => ({ name: v.name, stream: v.stream, decoded: v.decoded }));

describe('mutation fuzzer (seeded CI slice; npm run fuzz runs millions)', () => {
  it('finds no failures in 20,000 mutations across the core decoders', async () => {
    const stats = await fuzz({ iterations: 20_000, seed: 2026, corpus, targets: coreTargets });
    expect(stats.failures.map((f) => `${f.target} ${f.mutator} ${f.base}: ${f.problem}`)).toEqual([]);
    // The mutations reach every phase of validation, not just the first checks.
    for (const code of ['ECF8_TRUNCATED', 'ECF8_METADATA_CHECKSUM_MISMATCH', 'ECF8_BAD_OUTPUT_POSITIONS', 'ECF8_GAP_MISMATCH', 'ECF8_CONTENT_CHECKSUM_MISMATCH', 'ECF8_SECTION_SIZE_MISMATCH']) {
      expect(stats.byCode[code] ?? 0, code).toBeGreaterThan(0);
    }
  });

  it('is reproducible: the same seed gives the same mutations', () => {
    const a = makeRandom(7);
    const b = makeRandom(7);
    const s = corpus[3].stream;
    for (const m of Object.values(MUTATORS)) expect(m(s, a, [s])).toEqual(m(s, b, [s]));
  });

  it('catches a decoder that silently returns wrong bytes or crashes', async () => {
    const stats = await fuzz({
      iterations: 300,
      seed: 5,
      corpus,
      targets: [
        { name: 'lenient', run: (s) => (s.length > 200 ? new Uint8Array(3) : new Uint8Array(0)) },
        { name: 'crashy', run: () => { throw new TypeError('boom'); } },
      ],
    });
    expect(stats.failures.some((f) => f.target === 'lenient')).toBe(true);
    expect(stats.failures.some((f) => f.target === 'crashy' && /non-ECF8 error: TypeError: boom/.test(f.problem))).toBe(true);
  });
});
