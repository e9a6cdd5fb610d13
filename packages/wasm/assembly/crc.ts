/** CRC-32C (spec §10): slicing-by-16 tables built at start-up, raw state updates (no pre/post inversion). */
import { CRC_TABLE } from './layout';

const POLY: u32 = 0x82f63b78;

/** Table k at CRC_TABLE + 1024 k: the CRC of byte b followed by k zero bytes. */
export function initCrcTables(): void {
  for (let b: u32 = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(CRC_TABLE + (<usize>b << 2), c);
  }
  for (let k: usize = 1; k < 16; k++) {
    for (let b: usize = 0; b < 256; b++) {
      const prev = load<u32>(CRC_TABLE + ((k - 1) << 10) + (b << 2));
      store<u32>(CRC_TABLE + (k << 10) + (b << 2), (prev >>> 8) ^ load<u32>(CRC_TABLE + (<usize>(prev & 0xff) << 2)));
    }
  }
}

// Table k's entry for a byte, given that byte's index already scaled by 4 (`i` is a multiple of 4 below 1024):
// each lookup is a shift, a mask and one load whose table base is the load's immediate offset.
// @ts-ignore: decorator
@inline function t0(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE); }
// @ts-ignore: decorator
@inline function t1(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 1024); }
// @ts-ignore: decorator
@inline function t2(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 2048); }
// @ts-ignore: decorator
@inline function t3(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 3072); }
// @ts-ignore: decorator
@inline function t4(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 4096); }
// @ts-ignore: decorator
@inline function t5(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 5120); }
// @ts-ignore: decorator
@inline function t6(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 6144); }
// @ts-ignore: decorator
@inline function t7(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 7168); }
// @ts-ignore: decorator
@inline function t8(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 8192); }
// @ts-ignore: decorator
@inline function t9(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 9216); }
// @ts-ignore: decorator
@inline function t10(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 10240); }
// @ts-ignore: decorator
@inline function t11(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 11264); }
// @ts-ignore: decorator
@inline function t12(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 12288); }
// @ts-ignore: decorator
@inline function t13(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 13312); }
// @ts-ignore: decorator
@inline function t14(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 14336); }
// @ts-ignore: decorator
@inline function t15(i: u32): u32 { return load<u32>(<usize>i, CRC_TABLE + 15360); }

/** Byte 0..3 of a little-endian word, times 4 (a table index in bytes). */
// @ts-ignore: decorator
@inline function b0(w: u32): u32 { return (w << 2) & 0x3fc; }
// @ts-ignore: decorator
@inline function b1(w: u32): u32 { return (w >>> 6) & 0x3fc; }
// @ts-ignore: decorator
@inline function b2(w: u32): u32 { return (w >>> 14) & 0x3fc; }
// @ts-ignore: decorator
@inline function b3(w: u32): u32 { return (w >>> 22) & 0x3fc; }

/**
 * 16 bytes given as four little-endian words: the words that do not depend on the running CRC are folded first,
 * so the loop-carried chain is one lookup deep.
 */
// @ts-ignore: decorator
@inline export function crc16(c: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  const x =
    t11(b0(w1)) ^ t10(b1(w1)) ^ t9(b2(w1)) ^ t8(b3(w1)) ^
    t7(b0(w2)) ^ t6(b1(w2)) ^ t5(b2(w2)) ^ t4(b3(w2)) ^
    t3(b0(w3)) ^ t2(b1(w3)) ^ t1(b2(w3)) ^ t0(b3(w3));
  const a = c ^ w0;
  return x ^ t15(b0(a)) ^ t14(b1(a)) ^ t13(b2(a)) ^ t12(b3(a));
}

// @ts-ignore: decorator
@inline export function crcByte(c: u32, b: u32): u32 {
  return t0(b0(c ^ b)) ^ (c >>> 8);
}

/** Raw CRC state over bytes [ptr, ptr + len). */
export function crcUpdate(c: u32, ptr: usize, len: usize): u32 {
  const end = ptr + len;
  const wordsEnd = ptr + (len & ~(<usize>15));
  while (ptr < wordsEnd) {
    c = crc16(c, load<u32>(ptr), load<u32>(ptr, 4), load<u32>(ptr, 8), load<u32>(ptr, 12));
    ptr += 16;
  }
  while (ptr < end) c = crcByte(c, load<u8>(ptr++));
  return c;
}
