/**
 * Spec §15 (worked example): every number the section shows, asserted against the reference implementation, so the
 * spec's example cannot drift from the code. If a test here fails, either the code changed a normative behaviour or
 * §15 is wrong: fix the one that disagrees with the normative sections, never both to match each other silently.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildCodeLengths,
  buildDecodeTables,
  canonicalCodes,
  codeString,
  countThread,
  crc32c,
  decode,
  decodeGpuOrder,
  encode,
  exponentHistogram,
  exponentOf,
  inspect,
  kraftSum,
  lookupSymbol,
  nibbleOf,
  parseStream,
  readPositions,
  symbolsInCanonicalOrder,
  totalCodeBits,
} from '../src/index.js';

const fromHex = (s: string): Uint8Array => new Uint8Array((s.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Runs of equal values in a 256-byte table, as "first-last:value". */
function runs(table: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 1; i <= table.length; i++) {
    if (i === table.length || table[i] !== table[start]) {
      out.push(`${start}-${i - 1}:${table[start]}`);
      start = i;
    }
  }
  return out;
}

// §15.1
const INPUT = fromHex(`
  35 41 c0 3a 4e d4 47 3b ca 37 ce d4 51 dd 48 4e
  2a 20 30 ba cc e1 36 c0 c3 44 4f b4 ae c4 b8 5b
  64 d4 bd dc 3c d8 29 be d1 c1 b8`);

// §15.7, the T = 1 stream, 32 bytes a line.
const STREAM_T1 = fromHex(`
  454346380101080001000000000000002b000000000000008200000000000000
  0000000005040303020303030500000020000000000000000800000000000000
  280000000000000018000000000000008c2a4f35ab22de730000000000000000
  16000000000000002b000000000000002b000000000000000420000000000000
  40e51c52dd277939f4045c3dfaf3dce8c0000000000000000000000000000000
  000000000000000051826c73a7ec1d06200ac968b47cec834cdc481e99800000`);

describe('spec §15.1 input and element split', () => {
  it('has 43 elements', () => {
    expect(INPUT.length).toBe(43);
  });
  it('splits into the exponent symbols and nibbles shown', () => {
    const xs = [...INPUT].map(exponentOf);
    const qs = [...INPUT].map(nibbleOf);
    expect(xs).toEqual([
      6, 8, 8, 7, 9, 10, 8, 7, 9, 6, 9, 10, 10, 11, 9, 9,
      5, 4, 6, 7, 9, 12, 6, 8, 8, 8, 9, 6, 5, 8, 7, 11,
      12, 10, 7, 11, 7, 11, 5, 7, 10, 8, 7,
    ]);
    expect(qs.map((q) => q.toString(16)).join('')).toBe('51826c73a7ec1d06' + '200ac968b47cec83' + '4cdc481e998');
    // The two examples in the text.
    expect([exponentOf(0xd4), nibbleOf(0xd4)]).toEqual([10, 0xc]);
    expect([exponentOf(0x20), nibbleOf(0x20)]).toEqual([4, 0]);
  });
});

describe('spec §15.2 histogram and code lengths', () => {
  const h = exponentHistogram(INPUT);
  const lengths = buildCodeLengths(h);
  it('histogram', () => {
    expect([...h]).toEqual([0, 0, 0, 0, 1, 3, 5, 8, 8, 7, 5, 4, 2, 0, 0, 0]);
  });
  it('package-merge code lengths, complete, 130 bits', () => {
    expect([...lengths]).toEqual([0, 0, 0, 0, 5, 4, 3, 3, 2, 3, 3, 3, 5, 0, 0, 0]);
    expect(kraftSum(lengths)).toBe(65536);
    expect(totalCodeBits(h, lengths)).toBe(130);
    // The 16 items taken have weights summing to bits.
    expect([1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9, 11, 15, 17, 26].reduce((a, b) => a + b)).toBe(130);
  });
  it('the 8/8 tie between x7 and x8 is decided by symbol order', () => {
    // Swapping the counts of x7 and x8 swaps their lengths: the earlier symbol of a tie ends deeper.
    const swapped = [...h];
    [swapped[7], swapped[8]] = [swapped[8], swapped[7]];
    expect(buildCodeLengths(swapped)[7]).toBe(3);
    expect(buildCodeLengths(swapped)[8]).toBe(2);
    const lengthsSwapped = [...lengths];
    [lengthsSwapped[7], lengthsSwapped[8]] = [lengthsSwapped[8], lengthsSwapped[7]];
    expect(totalCodeBits(h, lengthsSwapped)).toBe(130);
  });
});

describe('spec §15.3 canonical codes and decode tables', () => {
  const lengths = buildCodeLengths(exponentHistogram(INPUT));
  const codes = canonicalCodes(lengths);
  const tables = buildDecodeTables(lengths);
  it('canonical order and codes', () => {
    const order = symbolsInCanonicalOrder(lengths);
    expect(order).toEqual([8, 6, 7, 9, 10, 11, 5, 4, 12]);
    expect(order.map((x) => codeString(codes[x], lengths[x]))).toEqual(['00', '010', '011', '100', '101', '110', '1110', '11110', '11111']);
  });
  it('two tables: root ranges and the length table', () => {
    expect(tables.nLuts).toBe(2);
    expect(tables.prefixes).toEqual([]);
    expect(tables.bytes.length).toBe(512);
    expect(runs(tables.bytes.subarray(0, 256))).toEqual([
      '0-63:8', '64-95:6', '96-127:7', '128-159:9', '160-191:10', '192-223:11', '224-239:5', '240-247:4', '248-255:12',
    ]);
    expect(toHex(tables.bytes.subarray(256, 272))).toBe('00000000050403030203030305000000');
    expect(tables.bytes.subarray(272, 512).every((b) => b === 0)).toBe(true);
  });
  it('decodes the code at bit 68 from w = 0x4045', () => {
    expect(tables.bytes[0x40]).toBe(6);
    expect(lookupSymbol(tables, 0x4045)).toBe(6 | (3 << 8));
  });
});

describe('spec §15.4-15.7 the T = 1 stream', () => {
  const stream = encode(INPUT, { threadsPerBlock: 1 });
  const parsed = parseStream(stream);
  const { layout } = parsed;
  const tables = buildDecodeTables(parsed.header.codeLengths);

  it('is byte-identical to the hex dump of §15.7', () => {
    expect(stream.length).toBe(192);
    expect(toHex(stream)).toBe(toHex(STREAM_T1));
  });
  it('header fields and layout', () => {
    const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    expect(toHex(stream.subarray(0, 8))).toBe('4543463801010800');
    expect(dv.getUint32(8, true)).toBe(1);
    expect(dv.getBigUint64(16, true)).toBe(43n);
    expect(dv.getBigUint64(24, true)).toBe(130n);
    expect(toHex(stream.subarray(32, 48))).toBe('00000000050403030203030305000000');
    expect([48, 56, 64, 72].map((o) => dv.getBigUint64(o, true))).toEqual([32n, 8n, 40n, 24n]);
    expect(layout).toMatchObject({
      usedBytes: 17, nBlocks: 3, nThreads: 3,
      positionsOffset: 0x58, gapsOffset: 0x78, exponentsOffset: 0x80, nibblesOffset: 0xa8, streamSize: 0xc0,
    });
  });
  it('bitstream bytes (section 3)', () => {
    const ex = stream.subarray(layout.exponentsOffset, layout.nibblesOffset);
    expect(ex.length).toBe(40);
    expect(toHex(ex.subarray(0, 8))).toBe('40e51c52dd277939');
    expect(toHex(ex.subarray(8, 16))).toBe('f4045c3dfaf3dce8');
    expect(ex[16]).toBe(0xc0);
    expect(ex.subarray(17).every((b) => b === 0)).toBe(true);
    // The bits of §15.4, window by window, with code boundaries removed.
    const bitString = [...ex.subarray(0, 17)].map((b) => b.toString(2).padStart(8, '0')).join('').slice(0, 130);
    const w0 = '010 00 00 011 100 101 00 011 100 010 100 101 101 110 100 100 1110 11110 010 011 100 1';
    const w1 = '1111 010 00 00 00 100 010 1110 00 011 110 11111 101 011 110 011 110 1110 011 101 00 0';
    const w2 = '11';
    expect(bitString).toBe((w0 + w1 + w2).replace(/ /g, ''));
    expect(w0.replace(/ /g, '').length).toBe(64);
    expect(w1.replace(/ /g, '').length).toBe(64);
  });
  it('code start positions near the window boundaries', () => {
    const lengths = parsed.header.codeLengths;
    const s: number[] = [];
    let p = 0;
    for (const v of INPUT) {
      s.push(p);
      p += lengths[exponentOf(v)];
    }
    expect([s[20], s[21], s[22], s[41], s[42], p]).toEqual([60, 63, 68, 125, 127, 130]);
  });
  it('gaps (section 2) and per-thread counts', () => {
    expect(toHex(stream.subarray(layout.gapsOffset, layout.exponentsOffset))).toBe('0420000000000000');
    const threads = [0, 1, 2].map((t) => countThread(parsed, tables, t));
    expect(threads).toEqual([
      { start: 0, count: 22, end: 68 },
      { start: 68, count: 21, end: 130 },
      { start: 130, count: 0, end: 130 },
    ]);
  });
  it('output positions (section 1)', () => {
    expect([...readPositions(parsed)]).toEqual([0, 22, 43, 43]);
  });
  it('nibbles (section 4)', () => {
    expect(toHex(stream.subarray(layout.nibblesOffset))).toBe('51826c73a7ec1d06200ac968b47cec834cdc481e99800000');
    expect(stream[layout.nibblesOffset + 11]).toBe(0x68); // element 22's byte; high nibble 6 -> 0x36 with x = 6
  });
  it('checksums', () => {
    expect(crc32c(INPUT)).toBe(0x354f2a8c);
    const metadata = new Uint8Array([...stream.subarray(0, 0x54), ...stream.subarray(0x58, 0x80)]);
    expect(metadata.length).toBe(124);
    expect(crc32c(metadata)).toBe(0x73de22ab);
    const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    expect(dv.getUint32(0x50, true)).toBe(0x354f2a8c);
    expect(dv.getUint32(0x54, true)).toBe(0x73de22ab);
  });
  it('decodes back to the input with both decoders', () => {
    expect(decode(STREAM_T1)).toEqual(INPUT);
    expect(decodeGpuOrder(STREAM_T1)).toEqual(INPUT);
  });
});

describe('spec §15.8 the same input with T = 2', () => {
  const stream = encode(INPUT, { threadsPerBlock: 2 });
  const parsed = parseStream(stream);
  it('differs from the T = 1 stream only where §15.8 says', () => {
    expect(stream.length).toBe(184);
    const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    expect(dv.getUint32(8, true)).toBe(2);
    expect(dv.getBigUint64(0x30, true)).toBe(24n);
    expect(dv.getUint32(0x54, true)).toBe(0x4b6465a4);
    expect(toHex(stream.subarray(0x54, 0x58))).toBe('a465644b');
    // Header bytes other than T, positions_size and metadata_crc32c are those of T = 1.
    const a = [...stream.subarray(0, 88)];
    const b = [...STREAM_T1.subarray(0, 88)];
    const differing = a.map((v, i) => (v !== b[i] ? i : -1)).filter((i) => i >= 0);
    expect(differing).toEqual([0x08, 0x30, 0x54, 0x55, 0x56, 0x57]);
    expect(parsed.layout).toMatchObject({ nBlocks: 2, nThreads: 4, positionsOffset: 0x58, gapsOffset: 0x70, exponentsOffset: 0x78, nibblesOffset: 0xa0 });
    expect([...readPositions(parsed)]).toEqual([0, 43, 43]);
    expect(toHex(stream.subarray(0x70, 0x78))).toBe('0420000000000000');
    // Sections 3 and 4 are unchanged.
    expect(toHex(stream.subarray(0x78))).toBe(toHex(STREAM_T1.subarray(0x80)));
  });
  it('thread 3 is dead', () => {
    const tables = buildDecodeTables(parsed.header.codeLengths);
    expect(countThread(parsed, tables, 3)).toEqual({ start: 192, count: 0, end: 192 });
    expect(3 * 64).toBeGreaterThanOrEqual(130);
    expect(decode(stream)).toEqual(INPUT);
    expect(decodeGpuOrder(stream)).toEqual(INPUT);
  });
  it('inspect agrees', () => {
    const info = inspect(stream);
    expect(info.header.metadataCrc32c).toBe(0x4b6465a4);
    expect(info.header.contentCrc32c).toBe(0x354f2a8c);
  });
});

describe('spec §15.9 two-level tables', () => {
  const h = [1, 1, 2, 4, 8, 16, 32, 32, 32, 128, 256, 512, 1024, 2048, 4096, 8192];
  const lengths = buildCodeLengths(h);
  const codes = canonicalCodes(lengths);
  const tables = buildDecodeTables(lengths);
  it('code lengths and canonical codes', () => {
    expect([...lengths]).toEqual([14, 14, 13, 12, 11, 10, 9, 9, 9, 7, 6, 5, 4, 3, 2, 1]);
    const order = symbolsInCanonicalOrder(lengths);
    expect(order).toEqual([15, 14, 13, 12, 11, 10, 9, 6, 7, 8, 5, 4, 3, 2, 0, 1]);
    expect(order.map((x) => codeString(codes[x], lengths[x]))).toEqual([
      '0', '10', '110', '1110', '11110', '111110', '1111110', '111111100', '111111101', '111111110',
      '1111111110', '11111111110', '111111111110', '1111111111110', '11111111111110', '11111111111111',
    ]);
  });
  it('two long prefixes: pointers 255 and 254, and the subtables', () => {
    expect(tables.prefixes).toEqual([0xfe, 0xff]);
    expect(tables.nLuts).toBe(4);
    expect(runs(tables.bytes.subarray(0, 256))).toEqual([
      '0-127:15', '128-191:14', '192-223:13', '224-239:12', '240-247:11', '248-251:10', '252-253:9', '254-254:255', '255-255:254',
    ]);
    expect(runs(tables.bytes.subarray(256, 512))).toEqual(['0-127:6', '128-255:7']);
    expect(runs(tables.bytes.subarray(512, 768))).toEqual([
      '0-127:8', '128-191:5', '192-223:4', '224-239:3', '240-247:2', '248-251:0', '252-255:1',
    ]);
    expect([...tables.bytes.subarray(768, 784)]).toEqual([14, 14, 13, 12, 11, 10, 9, 9, 9, 7, 6, 5, 4, 3, 2, 1]);
    expect(tables.bytes.subarray(784, 1024).every((b) => b === 0)).toBe(true);
  });
  it('decodes w = 0xffe5 to x3, 12 bits', () => {
    expect(tables.bytes[0xff]).toBe(254);
    expect(tables.bytes[256 * 2 + 0xe5]).toBe(3);
    expect(lookupSymbol(tables, 0xffe5)).toBe(3 | (12 << 8));
  });
  it('the deepest code (§5.1) has one long prefix', () => {
    const deep = buildCodeLengths([1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]);
    expect([...deep]).toEqual([15, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const t = buildDecodeTables(deep);
    expect(t.prefixes).toEqual([0xff]);
    expect(t.nLuts).toBe(3);
    expect([t.bytes[254], t.bytes[255]]).toEqual([8, 255]);
    expect(runs(t.bytes.subarray(256, 512))).toEqual([
      '0-127:7', '128-191:6', '192-223:5', '224-239:4', '240-247:3', '248-251:2', '252-253:0', '254-255:1',
    ]);
  });
});

describe('spec §15 text matches these tests', () => {
  const spec = readFileSync(new URL('../../../spec/ecf8-v1.md', import.meta.url), 'utf8');
  const section15 = spec.slice(spec.indexOf('## 15. Worked example'), spec.indexOf('## 16. Versioning'));
  /** The fenced block that follows the first occurrence of `marker` in §15. */
  const blockAfter = (marker: string): string => {
    const at = section15.indexOf(marker);
    expect(at, marker).toBeGreaterThanOrEqual(0);
    const open = section15.indexOf('```', at);
    return section15.slice(section15.indexOf('\n', open) + 1, section15.indexOf('```', open + 3));
  };
  it('the one-string hex of §15.7 is the stream', () => {
    expect(blockAfter('As one hex string').replace(/\s+/g, '')).toBe(toHex(STREAM_T1));
  });
  it('the labelled dump of §15.7 is the stream', () => {
    const lines = blockAfter('### 15.7').split('\n');
    const bytesColumn = lines[0].indexOf('bytes');
    const fieldColumn = lines[0].indexOf('field');
    let offset = 0;
    const bytes: number[] = [];
    for (const line of lines.slice(1)) {
      if (!line.trim()) continue;
      expect(parseInt(line.slice(0, 4), 16), line).toBe(offset);
      const cells = line.slice(bytesColumn, fieldColumn).trim().split(/\s+/).filter((c) => c);
      for (const c of cells) bytes.push(parseInt(c, 16));
      offset += cells.length;
    }
    expect(toHex(new Uint8Array(bytes))).toBe(toHex(STREAM_T1));
  });
  it('the split table of §15.1 is the input', () => {
    const rows = blockAfter('### 15.1').split('\n').filter((l) => l.trim());
    const values = rows.filter((l) => l.startsWith('v ')).flatMap((l) => l.slice(1).trim().split(/\s+/));
    expect(values.join('')).toBe(toHex(INPUT));
    const xs = rows.filter((l) => l.startsWith('x ')).flatMap((l) => l.slice(1).trim().split(/\s+/).map(Number));
    expect(xs).toEqual([...INPUT].map(exponentOf));
    const qs = rows.filter((l) => l.startsWith('q ')).flatMap((l) => l.slice(1).trim().split(/\s+/).map((q) => parseInt(q, 16)));
    expect(qs).toEqual([...INPUT].map(nibbleOf));
  });
  it('the nibble bytes of §15.6 and the window bits of §15.4', () => {
    expect(blockAfter('### 15.6').replace(/\s+/g, '')).toBe(toHex(STREAM_T1.subarray(0xa8)));
    const windows = blockAfter('### 15.4').split('\n').filter((l) => /^[01][01 ]*$/.test(l));
    const bits = windows.map((l) => l.replace(/\s+/g, '')).join('');
    const expected = [...STREAM_T1.subarray(0x80, 0x91)].map((b) => b.toString(2).padStart(8, '0')).join('');
    expect(bits).toBe(expected);
  });
});
