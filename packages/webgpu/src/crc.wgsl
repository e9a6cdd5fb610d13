// CRC-32C of a byte range of a GPU buffer (spec §10), as raw CRCs (initial value 0, no final XOR; the host
// finalises). The message [byteOff, byteOff + n) of `data` is cut into chunks of CHUNK bytes counted from its END
// (chunk j = message bytes [n - (j+1) CHUNK, n - j CHUNK), clipped at 0), so every chunk but the first in message
// order is full. Entry `chunks`: invocation j computes chunk j's raw CRC with slicing-by-4 tables, then each
// workgroup combines its 256 CRCs in a tree: a group of 2^l chunks is appended to the group before it (in message
// order) with the shift operator x^(8 CHUNK 2^l) (a carry-less multiplication mod P), K[l] in `tables`. Entry
// `reduce` combines 256 partial CRCs per workgroup the same way, one tree level set further (level0). Missing
// chunks count as empty: a raw CRC ignores leading zero bytes, so the combination stays exact.

const CHUNK: u32 = 1024u;
const WGC: u32 = 256u;
const POLY: u32 = 0x82f63b78u;

struct CrcParams {
  byteOff: u32,   // message start within `data` (chunks)
  n: u32,         // message length in bytes (chunks)
  count: u32,     // chunks (chunks) or partial CRCs (reduce)
  level0: u32,    // tree level of one input (0 for chunks, 8, 16, ... for reduce passes)
  gridX: u32,     // workgroups per row of the dispatch
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> C: CrcParams;
@group(0) @binding(1) var<storage, read> tables: array<u32>;  // t[4][256], then K[l]
@group(0) @binding(2) var<storage, read> data: array<u32>;
@group(0) @binding(3) var<storage, read_write> outp: array<u32>;

var<workgroup> t: array<u32, 1024>;
var<workgroup> s: array<u32, WGC>;

fn byteAt(a: u32) -> u32 {
  return (data[a >> 2u] >> ((a & 3u) << 3u)) & 0xffu;
}

fn crcByte(c: u32, b: u32) -> u32 {
  return (c >> 8u) ^ t[(c ^ b) & 0xffu];
}

fn crcWord(c: u32, w: u32) -> u32 {
  let x = c ^ w;
  return t[768u + (x & 0xffu)] ^ t[512u + ((x >> 8u) & 0xffu)] ^ t[256u + ((x >> 16u) & 0xffu)] ^ t[x >> 24u];
}

// a * b mod P, reflected (bit 31 = x^0).
fn mulmod(a: u32, b0: u32) -> u32 {
  var p = 0u;
  var b = b0;
  for (var i = 0u; i < 32u; i++) {
    if ((a & (0x80000000u >> i)) != 0u) {
      p ^= b;
    }
    b = select(b >> 1u, (b >> 1u) ^ POLY, (b & 1u) == 1u);
  }
  return p;
}

// Combines the workgroup's 256 CRCs (index = order from the message's end) into one.
fn tree(v: u32, li: u32, level0: u32) -> u32 {
  s[li] = v;
  workgroupBarrier();
  var level = level0;
  for (var stride = 1u; stride < WGC; stride <<= 1u) {
    if ((li & (2u * stride - 1u)) == 0u) {
      s[li] = mulmod(s[li + stride], tables[1024u + min(level, arrayLength(&tables) - 1025u)]) ^ s[li];
    }
    level++;
    workgroupBarrier();
  }
  return s[0];
}

@compute @workgroup_size(WGC)
fn chunks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  for (var i = li; i < 1024u; i += WGC) {
    t[i] = tables[i];
  }
  workgroupBarrier();
  let g = wid.y * C.gridX + wid.x;
  let j = g * WGC + li;
  var c = 0u;
  if (j < C.count) {
    let hi = C.n - j * CHUNK;
    let lo = select(0u, hi - CHUNK, hi > CHUNK);
    var a = C.byteOff + lo;
    let e = C.byteOff + hi;
    while (a < e && (a & 3u) != 0u) {
      c = crcByte(c, byteAt(a));
      a++;
    }
    while (a + 4u <= e) {
      c = crcWord(c, data[a >> 2u]);
      a += 4u;
    }
    while (a < e) {
      c = crcByte(c, byteAt(a));
      a++;
    }
  }
  let r = tree(c, li, 0u);
  if (li == 0u && g < arrayLength(&outp)) {
    outp[g] = r;
  }
}

@compute @workgroup_size(WGC)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wid.y * C.gridX + wid.x;
  let j = g * WGC + li;
  let v = select(0u, data[min(j, arrayLength(&data) - 1u)], j < C.count);
  let r = tree(v, li, C.level0);
  if (li == 0u && g < arrayLength(&outp)) {
    outp[g] = r;
  }
}
