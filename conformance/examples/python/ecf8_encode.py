#!/usr/bin/env python3
"""Reference ECF8 (version 1) encoder, written from spec/ecf8-v1.md §12 alone.

Used by test_decoder.py to build streams by hand and to check that the vectors
marked ``canonical`` are reproduced byte for byte. Standard library only.

    python3 ecf8_encode.py IN.fp8 OUT.ecf8 [--threads-per-block T]
"""

import bisect
import sys

from ecf8_decode import (BYTES_PER_THREAD, WINDOW_BITS, canonical_codes, ceil_div,
                         crc32c, roundup8)


def histogram(data):
    """§12.1: h[x] = number of elements with exponent symbol x."""
    h = [0] * 16
    for v in data:
        h[(v >> 3) & 0x0F] += 1
    return h


def package_merge_lengths(h, max_len=16):
    """§12.2: code lengths from the histogram ``h``."""
    used = [x for x in range(16) if h[x] > 0]
    k = len(used)
    lengths = [0] * 16
    if k == 0:
        return lengths
    if k == 1:
        x = used[0]
        y = 0 if x != 0 else 1          # smallest symbol other than x
        lengths[x] = lengths[y] = 1
        return lengths
    # Items are (weight, symbols); leaves sorted by (weight, symbol).
    leaves = sorted(((h[x], (x,)) for x in used), key=lambda it: (it[0], it[1][0]))
    items = list(leaves)
    for _ in range(max_len - 1):
        packages = [(items[2 * i][0] + items[2 * i + 1][0], items[2 * i][1] + items[2 * i + 1][1])
                    for i in range(len(items) // 2)]
        merged, a, b = [], 0, 0
        while a < len(leaves) or b < len(packages):
            # on equal weight every leaf precedes every package
            if b == len(packages) or (a < len(leaves) and leaves[a][0] <= packages[b][0]):
                merged.append(leaves[a])
                a += 1
            else:
                merged.append(packages[b])
                b += 1
        items = merged
    for _, symbols in items[:2 * k - 2]:
        for x in symbols:
            lengths[x] += 1
    return lengths


def encode(data, threads_per_block=512):
    data = bytes(data)
    n, T, B = len(data), threads_per_block, BYTES_PER_THREAD
    lengths = package_merge_lengths(histogram(data))
    code_of = {x: (c, ln) for x, c, ln in canonical_codes(lengths)}

    # §7 bitstream, built as a string of '0'/'1' characters for simplicity.
    fmt = {x: format(c, "0%db" % ln) for x, (c, ln) in code_of.items()}
    bitstring = "".join(fmt[(v >> 3) & 0x0F] for v in data)
    bits = len(bitstring)
    used_bytes = ceil_div(bits, 8)
    exponents = (int(bitstring, 2) << (8 * used_bytes - bits)).to_bytes(used_bytes, "big") if bits else b""
    exponents += bytes(roundup8(used_bytes) + 16 - used_bytes)

    # start positions s_i
    starts, s = [], 0
    for v in data:
        starts.append(s)
        s += code_of[(v >> 3) & 0x0F][1]

    n_blocks = ceil_div(used_bytes, B * T)
    n_threads = n_blocks * T
    # §8.1 pos[b] = number of i with s_i < 8*B*T*b
    pos = [bisect.bisect_left(starts, 8 * B * T * b) for b in range(n_blocks)] + [n]
    # §8.2 gaps
    gaps = []
    for t in range(n_threads):
        w = WINDOW_BITS * t
        if w >= bits:
            gaps.append(0)
        else:
            i = bisect.bisect_left(starts, w)
            gaps.append((starts[i] if i < n else bits) - w)
    gap_bytes = bytearray(roundup8(ceil_div(n_threads, 2)))
    for t, g in enumerate(gaps):
        gap_bytes[t // 2] |= g << 4 if t % 2 == 0 else g
    positions = b"".join(p.to_bytes(8, "little") for p in pos)

    # §9 nibbles
    nib = bytearray(roundup8(ceil_div(n, 2)))
    for i, v in enumerate(data):
        q = ((v >> 7) << 3) | (v & 7)
        nib[i // 2] |= q << 4 if i % 2 == 0 else q

    header = bytearray(88)
    header[0:4] = b"ECF8"
    header[4], header[5], header[6] = 1, 1, B
    header[8:12] = T.to_bytes(4, "little")
    header[16:24] = n.to_bytes(8, "little")
    header[24:32] = bits.to_bytes(8, "little")
    header[32:48] = bytes(lengths)
    for off, size in ((48, len(positions)), (56, len(gap_bytes)), (64, len(exponents)), (72, len(nib))):
        header[off:off + 8] = size.to_bytes(8, "little")
    header[80:84] = crc32c(data).to_bytes(4, "little")
    header[84:88] = crc32c(header[:84], positions, gap_bytes).to_bytes(4, "little")
    return bytes(header) + positions + bytes(gap_bytes) + exponents + bytes(nib)


def main(argv):
    T = 512
    if "--threads-per-block" in argv:
        i = argv.index("--threads-per-block")
        T = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) != 2:
        sys.stderr.write("usage: ecf8_encode.py IN.fp8 OUT.ecf8 [--threads-per-block T]\n")
        return 2
    with open(argv[0], "rb") as f:
        data = f.read()
    with open(argv[1], "wb") as f:
        f.write(encode(data, T))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
