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

// @ts-ignore: decorator
@inline function t(k: usize, byte: u32): u32 {
  return load<u32>(CRC_TABLE + (k << 10) + (<usize>(byte & 0xff) << 2));
}

/**
 * 16 bytes given as four little-endian words: the words that do not depend on the running CRC are folded first,
 * so the loop-carried chain is one lookup deep.
 */
// @ts-ignore: decorator
@inline export function crc16(c: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  const x =
    t(11, w1) ^ t(10, w1 >>> 8) ^ t(9, w1 >>> 16) ^ t(8, w1 >>> 24) ^
    t(7, w2) ^ t(6, w2 >>> 8) ^ t(5, w2 >>> 16) ^ t(4, w2 >>> 24) ^
    t(3, w3) ^ t(2, w3 >>> 8) ^ t(1, w3 >>> 16) ^ t(0, w3 >>> 24);
  const a = c ^ w0;
  return x ^ t(15, a) ^ t(14, a >>> 8) ^ t(13, a >>> 16) ^ t(12, a >>> 24);
}

// @ts-ignore: decorator
@inline export function crcByte(c: u32, b: u32): u32 {
  return t(0, c ^ b) ^ (c >>> 8);
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
