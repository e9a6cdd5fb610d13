#!/usr/bin/env python3
"""Independent ECF8 (version 1) decoder, written from spec/ecf8-v1.md alone.

Standard library only. Usage:

    python3 ecf8_decode.py IN.ecf8 OUT.fp8 [--tables OUT.luts] [--max-output-bytes N]

On success OUT.fp8 (and OUT.luts if asked) are written and the exit status is 0.
On an invalid stream exactly one line ``ecf8: <ERROR_CODE>: <message>`` goes to
stderr, the exit status is 1 and no output file is created.

The module can also be imported: ``decode(stream) -> bytes`` raises ``Ecf8Error``
(with ``.code`` set to a spec §11.1 code) for every invalid input, and
``build_decode_tables(code_lengths) -> bytes`` returns the §6 tables.

Section numbers (§N) refer to spec/ecf8-v1.md.
"""

import os
import sys
import tempfile

# --------------------------------------------------------------------------
# Constants (§3, §4)
# --------------------------------------------------------------------------

MAGIC = b"ECF8"
HEADER_SIZE = 88
VERSION = 1
FORMAT_E4M3FN = 1
BYTES_PER_THREAD = 8           # B: the only value allowed in version 1 (§4.1)
WINDOW_BITS = 8 * BYTES_PER_THREAD  # 64 (§4.2 window_bits)
MAX_CODE_LENGTH = 16           # §5.1
KRAFT_TOTAL = 1 << MAX_CODE_LENGTH  # K must equal 2^16 (§5.1)


class Ecf8Error(Exception):
    """An invalid stream (or a caller limit). ``code`` is the §11.1 code string."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


# --------------------------------------------------------------------------
# Small helpers (§1)
# --------------------------------------------------------------------------

def ceil_div(a, b):
    return -(-a // b)


def roundup8(x):
    return 8 * ceil_div(x, 8)


def u32(buf, off):
    return int.from_bytes(buf[off:off + 4], "little")


def u64(buf, off):
    return int.from_bytes(buf[off:off + 8], "little")


# Byte -> part lookups for §2 and §9, applied with bytes.translate.
_HIGH_NIBBLE = bytes(v >> 4 for v in range(256))
_LOW_NIBBLE = bytes(v & 0x0F for v in range(256))
# nibble q -> its bits in the FP8 byte: sign to bit 7, mantissa to bits 2..0 (§2)
_NIBBLE_TO_BYTE = bytes(((q & 0x8) << 4) | (q & 0x7) if q < 16 else 0 for q in range(256))
# exponent symbol x -> x << 3 (bits 6..3)
_EXPONENT_TO_BYTE = bytes((x << 3) & 0x78 for x in range(256))


# --------------------------------------------------------------------------
# CRC-32C (§10): reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF
# --------------------------------------------------------------------------

def _make_crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _make_crc_table()


def crc32c_update(crc, data):
    """Feed ``data`` into a running (pre-inverted) CRC register."""
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c(*chunks):
    """CRC-32C of the concatenation of ``chunks``."""
    crc = 0xFFFFFFFF
    for chunk in chunks:
        crc = crc32c_update(crc, chunk)
    return crc ^ 0xFFFFFFFF


# --------------------------------------------------------------------------
# Canonical codes (§5.2) and decode tables (§6)
# --------------------------------------------------------------------------

def canonical_codes(code_lengths):
    """Return a list of (symbol, code, length) in canonical order (§5.2).

    Symbols with length 0 have no code. Ordering is (length, symbol) ascending;
    the first symbol gets code 0 and each next one (prev + 1) << (len - prev_len).
    """
    order = sorted((ln, x) for x, ln in enumerate(code_lengths) if ln > 0)
    result = []
    code = prev_len = None
    for ln, x in order:
        code = 0 if code is None else (code + 1) << (ln - prev_len)
        prev_len = ln
        result.append((x, code, ln))
    return result


def build_decode_tables(code_lengths):
    """Build the §6 decode tables: n_luts subtables of 256 bytes each.

    ``code_lengths`` must already have passed §11.2 steps 8-9 (complete code, or
    all zeros for n = 0).
    """
    codes = canonical_codes(code_lengths)

    # §6 step 1: long prefixes = distinct first 8 bits of codes longer than 8.
    prefixes = sorted({c >> (ln - 8) for _, c, ln in codes if ln > 8})
    m = len(prefixes)
    n_luts = m + 2  # §6 step 2: root, m subtables, length table
    lut = bytearray(256 * n_luts)

    if codes:  # n = 0 (no codes): root and length tables are all zeros (§6)
        # §6 step 3: root table. A short code c of length len covers the
        # 2^(8-len) byte values whose top len bits equal c.
        for x, c, ln in codes:
            if ln <= 8:
                first = c << (8 - ln)
                for i in range(first, first + (1 << (8 - ln))):
                    lut[i] = x
        for j, p in enumerate(prefixes, start=1):
            lut[p] = 256 - j  # pointer to subtable j
        # §6 step 4: subtable j holds the codes starting with prefix P_j.
        for j, p in enumerate(prefixes, start=1):
            for x, c, ln in codes:
                if ln > 8 and c >> (ln - 8) == p:
                    # low (len - 8) bits of c, left-aligned in the 8-bit index
                    low = c & ((1 << (ln - 8)) - 1)
                    first = low << (16 - ln)
                    for i in range(first, first + (1 << (16 - ln))):
                        lut[256 * j + i] = x

    # §6 step 5: length table (entries 16..255 stay 0).
    for x, ln in enumerate(code_lengths):
        lut[256 * (n_luts - 1) + x] = ln
    return bytes(lut)


# --------------------------------------------------------------------------
# Phase A: header (§4, §11.2 steps 1-12)
# --------------------------------------------------------------------------

class Header:
    """Header fields (§4.1) plus derived quantities (§4.2)."""


def parse_header(stream):
    """Run phase A. Returns a Header; raises Ecf8Error on the first failing check.

    Python integers are unbounded, so every derived quantity is exact (§1, §11.3)
    and nothing is allocated from a header field here.
    """
    L = len(stream)

    # 1. magic: compare only the bytes that exist.
    k = min(L, 4)
    if bytes(stream[:k]) != MAGIC[:k]:
        raise Ecf8Error("ECF8_BAD_MAGIC", "stream does not start with 'ECF8'")
    # 2.
    if L < HEADER_SIZE:
        raise Ecf8Error("ECF8_TRUNCATED", "stream of %d bytes is shorter than the 88-byte header" % L)

    h = Header()
    h.version = stream[4]
    h.element_format = stream[5]
    h.B = stream[6]
    h.reserved_a = stream[7]
    h.T = u32(stream, 8)
    h.reserved_b = u32(stream, 12)
    h.n = u64(stream, 16)
    h.bits = u64(stream, 24)
    h.code_lengths = list(stream[32:48])
    h.positions_size = u64(stream, 48)
    h.gaps_size = u64(stream, 56)
    h.exponents_size = u64(stream, 64)
    h.nibbles_size = u64(stream, 72)
    h.content_crc32c = u32(stream, 80)
    h.metadata_crc32c = u32(stream, 84)

    # 3-7.
    if h.version != VERSION:
        raise Ecf8Error("ECF8_UNSUPPORTED_VERSION", "version %d (only 1 is supported)" % h.version)
    if h.element_format != FORMAT_E4M3FN:
        raise Ecf8Error("ECF8_UNSUPPORTED_FORMAT", "element_format %d (only 1 = E4M3FN)" % h.element_format)
    if h.B != BYTES_PER_THREAD:
        raise Ecf8Error("ECF8_BAD_BYTES_PER_THREAD", "bytes_per_thread %d (must be 8)" % h.B)
    T = h.T
    if not (1 <= T <= 1024 and T & (T - 1) == 0):
        raise Ecf8Error("ECF8_BAD_THREADS_PER_BLOCK", "threads_per_block %d is not a power of two in 1..1024" % T)
    if h.reserved_a != 0 or h.reserved_b != 0:
        raise Ecf8Error("ECF8_RESERVED_NONZERO", "reserved header field is not zero")

    # 8.
    n, bits, lengths = h.n, h.bits, h.code_lengths
    for x, ln in enumerate(lengths):
        if ln > MAX_CODE_LENGTH:
            raise Ecf8Error("ECF8_BAD_CODE_LENGTH", "code_lengths[%d] = %d exceeds 16" % (x, ln))
    if n == 0 and any(lengths):
        raise Ecf8Error("ECF8_BAD_CODE_LENGTH", "non-zero code length in a stream of 0 elements")

    # 9. Kraft sum (§5.1), only when n > 0.
    if n > 0:
        K = sum(1 << (MAX_CODE_LENGTH - ln) for ln in lengths if ln > 0)
        if K > KRAFT_TOTAL:
            raise Ecf8Error("ECF8_CODE_OVERSUBSCRIBED", "Kraft sum %d > 65536" % K)
        if K < KRAFT_TOTAL:
            raise Ecf8Error("ECF8_CODE_INCOMPLETE", "Kraft sum %d < 65536" % K)

    # 10. bit count range (exact, unbounded arithmetic).
    if n == 0:
        if bits != 0:
            raise Ecf8Error("ECF8_BAD_BIT_COUNT", "exponent_bit_count %d in a stream of 0 elements" % bits)
    else:
        used = [ln for ln in lengths if ln > 0]
        if bits < n * min(used) or bits > n * max(used):
            raise Ecf8Error("ECF8_BAD_BIT_COUNT",
                            "exponent_bit_count %d outside [%d, %d]" % (bits, n * min(used), n * max(used)))

    # 11. derived sizes (§4.2) must equal the stored ones.
    h.used_bytes = ceil_div(bits, 8)
    h.n_blocks = ceil_div(h.used_bytes, BYTES_PER_THREAD * T)
    h.n_threads = h.n_blocks * T
    derived = (
        ("positions_size", h.positions_size, 8 * (h.n_blocks + 1)),
        ("gaps_size", h.gaps_size, roundup8(ceil_div(h.n_threads, 2))),
        ("exponents_size", h.exponents_size, roundup8(h.used_bytes) + 16),
        ("nibbles_size", h.nibbles_size, roundup8(ceil_div(n, 2))),
    )
    for name, stored, want in derived:
        if stored != want:
            raise Ecf8Error("ECF8_SECTION_SIZE_MISMATCH", "%s is %d, derived %d" % (name, stored, want))

    # 12. exact stream length.
    h.stream_size = HEADER_SIZE + sum(want for _, _, want in derived)
    if L < h.stream_size:
        raise Ecf8Error("ECF8_TRUNCATED", "stream has %d bytes, header requires %d" % (L, h.stream_size))
    if L > h.stream_size:
        raise Ecf8Error("ECF8_TRAILING_BYTES", "stream has %d bytes, header requires %d" % (L, h.stream_size))

    # Section offsets (§3). All sizes are now bounded by L.
    h.off_positions = HEADER_SIZE
    h.off_gaps = h.off_positions + h.positions_size
    h.off_exponents = h.off_gaps + h.gaps_size
    h.off_nibbles = h.off_exponents + h.exponents_size
    return h


# --------------------------------------------------------------------------
# Phase B: metadata (§8.1, §8.2, §11.2 steps 13-16)
# --------------------------------------------------------------------------

def read_gaps(gap_bytes, n_threads):
    """Unpack the 4-bit gaps (§8.2): even thread in the high nibble."""
    gaps = bytearray(n_threads)
    packed = bytes(gap_bytes[:ceil_div(n_threads, 2)])
    gaps[0::2] = packed.translate(_HIGH_NIBBLE)                     # threads 0, 2, 4, ...
    gaps[1::2] = packed.translate(_LOW_NIBBLE)[:n_threads // 2]     # threads 1, 3, ...
    return gaps


def check_metadata(stream, h):
    """Run phase B. Returns (pos, gaps)."""
    pos_sec = stream[h.off_positions:h.off_gaps]
    gap_sec = stream[h.off_gaps:h.off_exponents]
    exp_sec = stream[h.off_exponents:h.off_nibbles]
    nib_sec = stream[h.off_nibbles:h.stream_size]

    # 13. metadata CRC: header bytes 0..83, then sections 1 and 2 (§10).
    got = crc32c(stream[0:84], pos_sec, gap_sec)
    if got != h.metadata_crc32c:
        raise Ecf8Error("ECF8_METADATA_CHECKSUM_MISMATCH",
                        "metadata_crc32c is 0x%08X, computed 0x%08X" % (h.metadata_crc32c, got))

    # 14. output positions must be a valid partition of 0..n.
    nb = h.n_blocks
    pos = [u64(pos_sec, 8 * b) for b in range(nb + 1)]
    per_block = 8 * BYTES_PER_THREAD * h.T
    if pos[0] != 0:
        raise Ecf8Error("ECF8_BAD_OUTPUT_POSITIONS", "pos[0] = %d, must be 0" % pos[0])
    for b in range(nb):
        if pos[b + 1] < pos[b]:
            raise Ecf8Error("ECF8_BAD_OUTPUT_POSITIONS", "pos[%d] < pos[%d]" % (b + 1, b))
        if pos[b + 1] - pos[b] > per_block:
            raise Ecf8Error("ECF8_BAD_OUTPUT_POSITIONS",
                            "block %d claims %d elements (> %d)" % (b, pos[b + 1] - pos[b], per_block))
    if pos[nb] != h.n:
        raise Ecf8Error("ECF8_BAD_OUTPUT_POSITIONS", "pos[%d] = %d, must equal n = %d" % (nb, pos[nb], h.n))

    # 15. gaps: dead threads 0, live threads not beyond the bitstream.
    gaps = read_gaps(gap_sec, h.n_threads)
    bits = h.bits
    for t, g in enumerate(gaps):
        w = WINDOW_BITS * t
        if w >= bits:                       # dead thread (§7)
            if g != 0:
                raise Ecf8Error("ECF8_BAD_GAP", "dead thread %d has gap %d" % (t, g))
        elif w + g > bits:
            raise Ecf8Error("ECF8_BAD_GAP", "live thread %d: gap %d points past the bitstream" % (t, g))

    # 16. padding (§3, §7, §8.2, §9).
    nt = h.n_threads
    if nt & 1 and gap_sec[nt // 2] & 0x0F:
        raise Ecf8Error("ECF8_NONZERO_PADDING", "gap pad nibble is not zero")
    if any(gap_sec[ceil_div(nt, 2):]):
        raise Ecf8Error("ECF8_NONZERO_PADDING", "gap padding byte is not zero")
    if bits % 8 and exp_sec[h.used_bytes - 1] & ((1 << (8 - bits % 8)) - 1):
        raise Ecf8Error("ECF8_NONZERO_PADDING", "exponent bits after exponent_bit_count are not zero")
    if any(exp_sec[h.used_bytes:]):
        raise Ecf8Error("ECF8_NONZERO_PADDING", "exponent padding byte is not zero")
    n = h.n
    if n & 1 and nib_sec[n // 2] & 0x0F:
        raise Ecf8Error("ECF8_NONZERO_PADDING", "nibble pad nibble is not zero")
    if any(nib_sec[ceil_div(n, 2):]):
        raise Ecf8Error("ECF8_NONZERO_PADDING", "nibble padding byte is not zero")

    return pos, gaps


# --------------------------------------------------------------------------
# Phase C: data (§8.3, §9, §2, §11.2 steps 17-19)
# --------------------------------------------------------------------------

def decode_exponents(stream, h, pos, gaps, lut):
    """Decode every live thread as in §8.3 and return the n exponent symbols.

    Thread t's symbols go to pos[b] + (sum of counts of earlier threads of its
    block) onwards; writes are clamped to the block's range [pos[b], pos[b+1]).
    """
    exp_sec = stream[h.off_exponents:h.off_nibbles]
    bits, T = h.bits, h.T
    n_luts = len(lut) // 256
    len_base = 256 * (n_luts - 1)
    # Per-symbol code lengths via the length table (§6).
    length_of = lut[len_base:len_base + 256]

    exps = bytearray(h.n)
    prev_end = 0                 # e_{t-1}, with e_{-1} = 0
    first_position_mismatch = None
    for b in range(h.n_blocks):
        base, limit = pos[b], pos[b + 1]
        count = 0                # symbols decoded so far in this block
        for t in range(b * T, (b + 1) * T):
            w = WINDOW_BITS * t
            if w >= bits:
                break            # dead thread, and every later one (§7)
            # 17. gap chain: this thread starts where the previous one ended.
            p = w + gaps[t]
            if p != prev_end:
                raise Ecf8Error("ECF8_GAP_MISMATCH",
                                "thread %d starts at bit %d, previous thread ended at bit %d" % (t, p, prev_end))
            # The 16 bytes at t*B as a 128-bit big-endian number (§7 lookahead).
            window = int.from_bytes(exp_sec[8 * t:8 * t + 16], "big")
            end = min(w + WINDOW_BITS, bits)
            while p < end:
                # §6: w16 = the 16 bits starting at p, first bit most significant.
                w16 = (window >> (112 - (p - w))) & 0xFFFF
                x = lut[w16 >> 8]
                if x >= 240:
                    x = lut[256 * (256 - x) + (w16 & 0xFF)]
                i = base + count
                if i < limit:
                    exps[i] = x
                count += 1
                p += length_of[x]
            prev_end = p         # e_t
        # 18 (recorded now, reported only if no gap mismatch follows).
        if count != limit - base and first_position_mismatch is None:
            first_position_mismatch = (b, count, limit - base)
    # 17, last live thread: e_t = bits.
    if prev_end != bits:
        raise Ecf8Error("ECF8_GAP_MISMATCH",
                        "last live thread ends at bit %d, exponent_bit_count is %d" % (prev_end, bits))
    if first_position_mismatch is not None:
        b, got, want = first_position_mismatch
        raise Ecf8Error("ECF8_POSITION_MISMATCH",
                        "block %d decodes %d symbols, output positions say %d" % (b, got, want))
    return exps


def assemble(exps, nib_sec, n):
    """Merge exponents and nibbles into FP8 bytes (§2, §9)."""
    packed = bytes(nib_sec[:ceil_div(n, 2)])
    q = bytearray(2 * len(packed))
    q[0::2] = packed.translate(_HIGH_NIBBLE)   # element 2j: high nibble
    q[1::2] = packed.translate(_LOW_NIBBLE)    # element 2j+1: low nibble
    del q[n:]
    # v = ((q & 8) << 4) | (x << 3) | (q & 7); the two parts never overlap,
    # so OR-ing them as big integers ORs them byte by byte.
    a = int.from_bytes(bytes(q).translate(_NIBBLE_TO_BYTE), "big")
    c = int.from_bytes(bytes(exps).translate(_EXPONENT_TO_BYTE), "big")
    return (a | c).to_bytes(n, "big")


# --------------------------------------------------------------------------
# Whole decode
# --------------------------------------------------------------------------

def decode(stream, max_output_bytes=None, return_tables=False):
    """Decode an ECF8 stream to FP8 bytes, running every check of §11.2 in order.

    Returns the decoded bytes, or (bytes, tables) when ``return_tables``.
    """
    if not isinstance(stream, (bytes, bytearray, memoryview)):
        raise Ecf8Error("ECF8_INVALID_ARGUMENT", "stream must be a bytes-like object")
    stream = bytes(stream)

    h = parse_header(stream)                                    # phase A
    if max_output_bytes is not None and h.n > max_output_bytes:  # caller limit, after phase A
        raise Ecf8Error("ECF8_LIMIT_EXCEEDED",
                        "stream holds %d elements, limit is %d bytes" % (h.n, max_output_bytes))
    pos, gaps = check_metadata(stream, h)                       # phase B
    lut = build_decode_tables(h.code_lengths)
    exps = decode_exponents(stream, h, pos, gaps, lut)          # phase C, steps 17-18
    out = assemble(exps, stream[h.off_nibbles:h.stream_size], h.n)
    got = crc32c(out)                                           # step 19
    if got != h.content_crc32c:
        raise Ecf8Error("ECF8_CONTENT_CHECKSUM_MISMATCH",
                        "decoded bytes have CRC-32C 0x%08X, header says 0x%08X" % (got, h.content_crc32c))
    return (out, lut) if return_tables else out


def decode_into(stream, out, offset=0, max_output_bytes=None):
    """Decode into ``out[offset:offset + n]`` of a caller's ``bytearray`` and return n.

    After phase A the caller limit is applied (ECF8_LIMIT_EXCEEDED), then the
    output room is checked (ECF8_OUTPUT_TOO_SMALL), both before phase B, as in
    §11.2. No byte of ``out`` outside that range is written, and nothing at all
    is written unless the whole stream is valid.
    """
    if not isinstance(out, bytearray):
        raise Ecf8Error("ECF8_INVALID_ARGUMENT", "output must be a bytearray")
    if not isinstance(offset, int) or offset < 0:
        raise Ecf8Error("ECF8_INVALID_ARGUMENT", "offset must be a non-negative integer")
    if not isinstance(stream, (bytes, bytearray, memoryview)):
        raise Ecf8Error("ECF8_INVALID_ARGUMENT", "stream must be a bytes-like object")
    h = parse_header(bytes(stream))
    if max_output_bytes is not None and h.n > max_output_bytes:
        raise Ecf8Error("ECF8_LIMIT_EXCEEDED",
                        "stream holds %d elements, limit is %d bytes" % (h.n, max_output_bytes))
    if offset > len(out) or len(out) - offset < h.n:
        raise Ecf8Error("ECF8_OUTPUT_TOO_SMALL",
                        "output holds %d bytes at offset %d; the stream decodes to %d"
                        % (max(0, len(out) - offset), offset, h.n))
    data = decode(stream)
    out[offset:offset + len(data)] = data
    return len(data)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

USAGE = "usage: ecf8_decode.py IN.ecf8 OUT.fp8 [--tables OUT.luts] [--max-output-bytes N]"


def _write_all_or_nothing(files):
    """Write each (path, data) to a temporary file beside it, then rename them
    all into place, so that on any failure no output file appears."""
    temps = []
    try:
        for path, data in files:
            directory = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(prefix=".ecf8-", dir=directory)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        for (path, _), tmp in zip(files, temps):
            os.replace(tmp, path)
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _fail(code, message, status):
    sys.stderr.write("ecf8: %s: %s\n" % (code, message))
    return status


def main(argv):
    args, tables_path, max_out = [], None, None
    it = iter(argv)
    for a in it:
        if a == "--tables":
            tables_path = next(it, None)
            if tables_path is None:
                return _fail("ECF8_INVALID_ARGUMENT", "--tables needs a path. " + USAGE, 2)
        elif a == "--max-output-bytes":
            v = next(it, None)
            if v is None or not v.isdigit():
                return _fail("ECF8_INVALID_ARGUMENT", "--max-output-bytes needs a number. " + USAGE, 2)
            max_out = int(v)
        elif a.startswith("--") and a != "--":
            return _fail("ECF8_INVALID_ARGUMENT", "unknown option %s. %s" % (a, USAGE), 2)
        else:
            args.append(a)
    if len(args) != 2:
        return _fail("ECF8_INVALID_ARGUMENT", USAGE, 2)
    in_path, out_path = args

    try:
        with open(in_path, "rb") as f:
            stream = f.read()
    except OSError as e:
        return _fail("ECF8_INVALID_ARGUMENT", "cannot read %s: %s" % (in_path, e.strerror), 2)

    try:
        out, lut = decode(stream, max_output_bytes=max_out, return_tables=True)
    except Ecf8Error as e:
        return _fail(e.code, e.message, 1)
    except MemoryError:
        return _fail("ECF8_LIMIT_EXCEEDED", "out of memory", 1)
    except Exception as e:  # a decoder bug: still one line, never a traceback
        return _fail("ECF8_INTERNAL_ERROR", "decoder bug: %s: %s" % (type(e).__name__, e), 3)

    try:
        files = [(out_path, out)]
        if tables_path is not None:
            files.append((tables_path, lut))
        _write_all_or_nothing(files)
    except OSError as e:
        return _fail("ECF8_INVALID_ARGUMENT", "cannot write output: %s" % e, 2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
