#!/usr/bin/env python3
"""Tests for the independent Python ECF8 decoder (stdlib unittest only).

    python3 -m unittest -v test_decoder          (from this directory)

The vector tests read test-vectors/manifest.json (override the directory with
the ECF8_VECTORS environment variable) and are skipped if it is absent.
Section numbers (§N) refer to spec/ecf8-v1.md.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ecf8_decode as d  # noqa: E402
import ecf8_encode as e  # noqa: E402

VECTORS = os.environ.get("ECF8_VECTORS", os.path.join(HERE, "..", "..", "..", "test-vectors"))
MANIFEST = os.path.join(VECTORS, "manifest.json")
DECODER = os.path.join(HERE, "ecf8_decode.py")


def load_manifest():
    with open(MANIFEST) as f:
        return json.load(f)


def read(rel):
    with open(os.path.join(VECTORS, rel), "rb") as f:
        return f.read()


def reseal(stream):
    """Recompute metadata_crc32c (§10) after editing header/positions/gaps."""
    s = bytearray(stream)
    h = d.parse_header(bytes(s))
    crc = d.crc32c(s[:84], s[h.off_positions:h.off_exponents])
    s[84:88] = crc.to_bytes(4, "little")
    return bytes(s)


def code_of(stream):
    try:
        d.decode(stream)
    except d.Ecf8Error as err:
        return err.code
    return None


# --------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------

class TestCrc32c(unittest.TestCase):
    def test_check_value(self):                     # §10
        self.assertEqual(d.crc32c(b"123456789"), 0xE3069283)

    def test_empty(self):
        self.assertEqual(d.crc32c(b""), 0)

    def test_chunked(self):
        self.assertEqual(d.crc32c(b"1234", b"", b"56789"), 0xE3069283)


class TestCanonicalCodes(unittest.TestCase):
    def test_spec_example(self):                    # §5.2 example
        lengths = [0] * 16
        lengths[3], lengths[5], lengths[7], lengths[9] = 2, 1, 3, 3
        got = [(x, format(c, "0%db" % ln)) for x, c, ln in d.canonical_codes(lengths)]
        self.assertEqual(got, [(5, "0"), (3, "10"), (7, "110"), (9, "111")])

    def test_last_code_all_ones(self):              # §5.2 complete code
        for lengths in random_complete_codes(200):
            x, c, ln = d.canonical_codes(lengths)[-1]
            self.assertEqual(c, (1 << ln) - 1)


def random_complete_codes(count, seed=1):
    """Complete codes from package-merge on random histograms (lengths up to 16)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        k = rng.randint(2, 16)
        h = [0] * 16
        for x in rng.sample(range(16), k):
            # Fibonacci-ish / exponential weights reach deep trees
            h[x] = int(rng.choice([1, 2, 3]) * 1.9 ** rng.randint(0, 30))
        out.append(e.package_merge_lengths(h))
    return out


class TestDecodeTables(unittest.TestCase):
    def test_spec_example(self):
        # §5.2 example lengths: 5 -> 0, 3 -> 10, 7 -> 110, 9 -> 111; all short.
        lengths = [0] * 16
        lengths[3], lengths[5], lengths[7], lengths[9] = 2, 1, 3, 3
        lut = d.build_decode_tables(lengths)
        self.assertEqual(len(lut), 2 * 256)            # m = 0: root + length table
        root = lut[:256]
        self.assertEqual(set(root[0:128]), {5})
        self.assertEqual(set(root[128:192]), {3})
        self.assertEqual(set(root[192:224]), {7})
        self.assertEqual(set(root[224:256]), {9})
        self.assertEqual(lut[256:256 + 16], bytes(lengths))
        self.assertEqual(lut[256 + 16:], bytes(240))

    def test_two_level(self):
        # lengths 1,2,...,15,15 : codes 0, 10, 110, ..., 1^14 0, 1^15
        lengths = list(range(1, 16)) + [15]
        lut = d.build_decode_tables(lengths)
        # the only long prefix is 0xFF (all codes of length >= 9 start with 8 ones)
        self.assertEqual(len(lut), 3 * 256)
        self.assertEqual(lut[0xFF], 255)                # pointer to subtable 1
        self.assertEqual(lut[0xFE], 7)                  # 11111110 = symbol 7 (len 8)
        self.assertEqual(lut[256 + 0x00], 8)            # 1111 1111 0... = symbol 8 (len 9)
        self.assertEqual(lut[256 + 0xFF], 15)           # all ones = last symbol
        self.assertEqual(lut[256 + 0xFE], 15)           # 15-bit code, 16th bit free
        self.assertEqual(lut[256 + 0xFC], 14)

    def test_tables_decode_every_code(self):
        # §6: decoding any 16-bit word beginning with a code yields that code.
        for lengths in random_complete_codes(300, seed=7):
            lut = d.build_decode_tables(lengths)
            n_luts = len(lut) // 256
            self.assertLessEqual(n_luts - 2, 4)        # §6 step 1 says m <= 7; really <= 4
            self.assertTrue(all(v < 16 or v >= 240 for v in lut[:256 * (n_luts - 1)]))
            for x, c, ln in d.canonical_codes(lengths):
                for tail in (0, (1 << (16 - ln)) - 1):
                    w = (c << (16 - ln)) | tail
                    y = lut[w >> 8]
                    if y >= 240:
                        y = lut[256 * (256 - y) + (w & 255)]
                    self.assertEqual(y, x)
                    self.assertEqual(lut[256 * (n_luts - 1) + y], ln)

    def test_most_long_prefixes(self):
        # §6 says m <= 7; the real maximum is 4: with m prefixes, each subtree
        # needs >= 2 long codes and the short codes must sum to (256 - m)/256,
        # which needs popcount(256 - m) codes, and 2m + popcount(256 - m) <= 16.
        lengths = [1, 2, 3, 4, 5, 6] + [9] * 8 + [0, 0]
        lut = d.build_decode_tables(lengths)
        self.assertEqual(len(lut) // 256, 4 + 2)
        self.assertEqual(sorted(set(lut[:256]) - set(range(16))), [252, 253, 254, 255])
        for m in range(5, 8):
            self.assertGreater(2 * m + bin(256 - m).count("1"), 16)

    def test_empty_code(self):                      # §6 n = 0
        self.assertEqual(d.build_decode_tables([0] * 16), bytes(512))


# --------------------------------------------------------------------------
# Streams built by hand
# --------------------------------------------------------------------------

def hand_stream():
    """Three elements [1.0, -2.0, 1.0] = [0x38, 0xC0, 0x38] with T = 1, by hand.

    Exponents x = 7, 8, 7; nibbles q = 0, 8, 0 (§2). Histogram 7:2, 8:1, so the
    code lengths are 1 and 1 (§12.2): 7 -> '0', 8 -> '1'. Bitstream '010',
    bits = 3, used_bytes = 1, n_blocks = ceil(1 / 8) = 1, n_threads = 1.
    """
    positions = (0).to_bytes(8, "little") + (3).to_bytes(8, "little")  # pos = [0, 3]
    gaps = bytes(8)                                  # gap_0 = 0, pad nibble, pad bytes
    exponents = bytes([0b01000000]) + bytes(23)      # roundup8(1) + 16 = 24 bytes
    nibbles = bytes([0x08, 0x00]) + bytes(6)         # q0 q1 | q2 pad ; roundup8(2) = 8
    lengths = [0] * 16
    lengths[7] = lengths[8] = 1
    header = bytearray()
    header += b"ECF8" + bytes([1, 1, 8, 0])
    header += (1).to_bytes(4, "little") + bytes(4)   # T = 1, reserved_b
    header += (3).to_bytes(8, "little")              # n
    header += (3).to_bytes(8, "little")              # bits
    header += bytes(lengths)
    for size in (16, 8, 24, 8):
        header += size.to_bytes(8, "little")
    header += d.crc32c(bytes([0x38, 0xC0, 0x38])).to_bytes(4, "little")
    header += d.crc32c(header, positions, gaps).to_bytes(4, "little")
    assert len(header) == 88
    return bytes(header) + positions + gaps + exponents + nibbles


def make_stream(n, bits, lengths, T, pos, gap_bytes, exponents, nibbles, content_crc):
    """Assemble a stream from explicit sections; sizes and metadata CRC computed."""
    positions = b"".join(p.to_bytes(8, "little") for p in pos)
    header = bytearray(b"ECF8" + bytes([1, 1, 8, 0]))
    header += T.to_bytes(4, "little") + bytes(4) + n.to_bytes(8, "little") + bits.to_bytes(8, "little")
    header += bytes(lengths)
    for sec in (positions, gap_bytes, exponents, nibbles):
        header += len(sec).to_bytes(8, "little")
    header += content_crc.to_bytes(4, "little")
    header += d.crc32c(header, positions, gap_bytes).to_bytes(4, "little")
    return bytes(header) + positions + gap_bytes + exponents + nibbles


class TestHandBuilt(unittest.TestCase):
    def test_decode(self):
        self.assertEqual(d.decode(hand_stream()), bytes([0x38, 0xC0, 0x38]))

    def test_matches_encoder(self):
        self.assertEqual(e.encode(bytes([0x38, 0xC0, 0x38]), 1), hand_stream())

    def test_empty_stream(self):
        s = e.encode(b"")
        self.assertEqual(len(s), 88 + 8 + 0 + 16 + 0)
        self.assertEqual(d.decode(s), b"")

    def test_round_trip_all_bytes(self):
        rng = random.Random(3)
        for T in (1, 2, 4, 32, 512, 1024):
            for n in (0, 1, 2, 7, 63, 64, 65, 500, 3000):
                data = bytes(rng.choice([rng.randrange(256), 0x38, 0x30, 0xB8]) for _ in range(n))
                self.assertEqual(d.decode(e.encode(data, T)), data, (T, n))

    def test_each_check(self):
        s = hand_stream()

        def patch(off, new, do_reseal=False):
            b = bytearray(s)
            b[off:off + len(new)] = new
            return reseal(bytes(b)) if do_reseal else bytes(b)

        cases = [
            (b"", "ECF8_TRUNCATED"),
            (b"EC", "ECF8_TRUNCATED"),
            (b"EX", "ECF8_BAD_MAGIC"),
            (s[:87], "ECF8_TRUNCATED"),
            (patch(4, b"\x02"), "ECF8_UNSUPPORTED_VERSION"),
            (patch(5, b"\x02"), "ECF8_UNSUPPORTED_FORMAT"),
            (patch(6, b"\x10"), "ECF8_BAD_BYTES_PER_THREAD"),
            (patch(8, (3).to_bytes(4, "little")), "ECF8_BAD_THREADS_PER_BLOCK"),
            (patch(7, b"\x01"), "ECF8_RESERVED_NONZERO"),
            (patch(32 + 9, b"\x11"), "ECF8_BAD_CODE_LENGTH"),
            (patch(32 + 9, b"\x01"), "ECF8_CODE_OVERSUBSCRIBED"),
            (patch(32 + 7, b"\x02"), "ECF8_CODE_INCOMPLETE"),
            (patch(24, (2).to_bytes(8, "little")), "ECF8_BAD_BIT_COUNT"),
            (patch(24, (4).to_bytes(8, "little")), "ECF8_BAD_BIT_COUNT"),
            (patch(72, (16).to_bytes(8, "little")), "ECF8_SECTION_SIZE_MISMATCH"),
            (s[:-1], "ECF8_TRUNCATED"),
            (s + b"\0", "ECF8_TRAILING_BYTES"),
            (patch(84, b"\0\0\0\0"), "ECF8_METADATA_CHECKSUM_MISMATCH"),
            (patch(88 + 8, (2).to_bytes(8, "little"), True), "ECF8_BAD_OUTPUT_POSITIONS"),
            (patch(88 + 16, b"\x40", True), "ECF8_BAD_GAP"),          # gap 4 > bits 3
            (patch(88 + 16, b"\x01", True), "ECF8_NONZERO_PADDING"),  # gap pad nibble
            (patch(88 + 24, b"\x50"), "ECF8_NONZERO_PADDING"),        # exponent pad bit
            (patch(88 + 24 + 23, b"\x01"), "ECF8_NONZERO_PADDING"),   # exponent lookahead
            (patch(88 + 48 + 1, b"\x01"), "ECF8_NONZERO_PADDING"),    # nibble pad nibble
            (patch(88 + 16, b"\x10", True), "ECF8_GAP_MISMATCH"),     # gap_0 = 1
            (patch(80, b"\0\0\0\0", True), "ECF8_CONTENT_CHECKSUM_MISMATCH"),
            (patch(88 + 48, b"\x09"), "ECF8_CONTENT_CHECKSUM_MISMATCH"),
        ]
        # (With one block and lengths {1, 1} a position mismatch cannot occur;
        # see test_position_mismatch_alone.)
        for i, (stream, want) in enumerate(cases):
            self.assertEqual(code_of(stream), want, "case %d" % i)

    def test_phase_c_precedence(self):
        # §11.2: a position mismatch in an early block and a gap mismatch in a
        # later block must report ECF8_GAP_MISMATCH.
        rng = random.Random(5)
        data = bytes(rng.randrange(256) for _ in range(400))
        s = bytearray(e.encode(data, 1))                  # T = 1: one thread per block
        h = d.parse_header(bytes(s))
        self.assertGreater(h.n_blocks, 6)
        off = h.off_positions
        p1 = int.from_bytes(s[off + 8:off + 16], "little")
        s[off + 8:off + 16] = (p1 + 1).to_bytes(8, "little")   # blocks 0 and 1 now mismatch
        self.assertEqual(code_of(reseal(bytes(s))), "ECF8_POSITION_MISMATCH")
        g = h.off_gaps + 3                                     # threads 6 (high) and 7 (low)
        gap6 = s[g] >> 4
        s[g] = (s[g] & 0x0F) | ((gap6 + 1 if gap6 < 15 else gap6 - 1) << 4)
        self.assertEqual(code_of(reseal(bytes(s))), "ECF8_GAP_MISMATCH")

    def test_position_mismatch_alone(self):
        # Move one element's ownership between blocks 0 and 1 in the positions only.
        rng = random.Random(6)
        data = bytes(rng.randrange(256) for _ in range(400))
        s = bytearray(e.encode(data, 1))
        off = d.parse_header(bytes(s)).off_positions
        p1 = int.from_bytes(s[off + 8:off + 16], "little")
        s[off + 8:off + 16] = (p1 - 1).to_bytes(8, "little")
        self.assertEqual(code_of(reseal(bytes(s))), "ECF8_POSITION_MISMATCH")

    def test_limit_after_phase_a(self):
        # ECF8_LIMIT_EXCEEDED is applied after phase A, before phase B (§11.2).
        s = bytearray(hand_stream())
        s[84] ^= 1                                         # bad metadata checksum
        with self.assertRaises(d.Ecf8Error) as cm:
            d.decode(bytes(s), max_output_bytes=2)
        self.assertEqual(cm.exception.code, "ECF8_LIMIT_EXCEEDED")
        self.assertEqual(d.decode(hand_stream(), max_output_bytes=3), bytes([0x38, 0xC0, 0x38]))

    def test_bit_count_in_range_but_unreachable(self):
        # Lengths x0:1, x1..x4:3 and n = 1: bits can only be 1 or 3, but step 10
        # only checks the range [1, 3]. bits = 2 passes phase A and B and is
        # caught by the gap chain (the one code read, '100', ends at bit 3).
        lengths = [1, 3, 3, 3, 3] + [0] * 11
        s = make_stream(n=1, bits=2, lengths=lengths, T=1, pos=[0, 1], gap_bytes=bytes(8),
                        exponents=bytes([0b10000000]) + bytes(23), nibbles=bytes(8), content_crc=0)
        self.assertEqual(code_of(s), "ECF8_GAP_MISMATCH")

    def test_huge_header_fields_unbounded(self):
        # n = 2^63, lengths {1, 2, 2}, bits = 2^64 - 1. With unbounded arithmetic
        # (§1) step 10 passes (2^63 <= bits <= 2^64); sizes are then derived
        # exactly and the stream fails step 11. An implementation that treats the
        # u64 overflow of n * max_len as failing step 10 would say BAD_BIT_COUNT.
        # See README "Spec ambiguities found".
        b = bytearray(hand_stream()[:88])
        b[16:24] = (1 << 63).to_bytes(8, "little")
        b[24:32] = ((1 << 64) - 1).to_bytes(8, "little")
        b[32:48] = bytes([1, 2, 2] + [0] * 13)
        self.assertEqual(code_of(bytes(b)), "ECF8_SECTION_SIZE_MISMATCH")


# --------------------------------------------------------------------------
# Test vectors
# --------------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, DECODER] + list(args), capture_output=True, text=True)


@unittest.skipUnless(os.path.exists(MANIFEST), "test vectors not found at " + VECTORS)
class TestVectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.manifest = load_manifest()
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_sha256(self):
        for rel, digest in self.manifest["sha256"].items():
            with self.subTest(file=rel):
                self.assertEqual(hashlib.sha256(read(rel)).hexdigest(), digest)

    def test_valid(self):
        self.assertGreater(len(self.manifest["valid"]), 0)
        for v in self.manifest["valid"]:
            with self.subTest(vector=v["name"]):
                out = os.path.join(self.tmp.name, v["name"] + ".fp8")
                luts = os.path.join(self.tmp.name, v["name"] + ".luts")
                r = run_cli(os.path.join(VECTORS, v["stream"]), out, "--tables", luts)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                with open(out, "rb") as f:
                    decoded = f.read()
                with open(luts, "rb") as f:
                    tables = f.read()
                self.assertEqual(len(decoded), int(v["elements"]))
                self.assertTrue(decoded == read(v["decoded"]), "decoded bytes differ")
                self.assertTrue(tables == read(v["tables"]), "decode tables differ")
                if "contentCrc32c" in v:
                    self.assertEqual(d.crc32c(decoded), int(v["contentCrc32c"]))

    def test_invalid(self):
        cases = self.manifest["invalid"] + self.manifest.get("headerOnly", [])
        self.assertGreater(len(cases), 0)
        for v in cases:
            with self.subTest(vector=v["name"]):
                out = os.path.join(self.tmp.name, "invalid-" + v["name"] + ".fp8")
                luts = out + ".luts"
                r = run_cli(os.path.join(VECTORS, v["stream"]), out, "--tables", luts)
                self.assertEqual(r.returncode, 1, r.stderr)
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertTrue(lines[0].startswith("ecf8: %s: " % v["error"]), lines[0])
                self.assertFalse(os.path.exists(out))
                self.assertFalse(os.path.exists(luts))
                self.assertEqual([f for f in os.listdir(self.tmp.name) if f.startswith(".ecf8-")], [])

    def test_api(self):
        # API-level vectors: the caller's parameters (test-vectors/README.md).
        # The library runs every one (decode with max_output_bytes, decode_into
        # a bytearray); the command line has a --max-output-bytes option but no
        # caller-provided output buffer, so it runs only the limit vectors.
        known = {"maxOutputBytes", "outputBytes", "outputOffset"}
        cases = self.manifest.get("api", [])
        for v in cases:
            p = v["parameters"]
            self.assertTrue(set(p) <= known, "unknown parameter in %s" % v["name"])
            with self.subTest(vector=v["name"]):
                stream = read(v["stream"])
                want = read(v["decoded"]) if "decoded" in v else None
                limit = p.get("maxOutputBytes")
                try:
                    if "outputBytes" in p:
                        off = p.get("outputOffset", 0)
                        buf = bytearray(b"\xa5" * p["outputBytes"])
                        n = d.decode_into(stream, buf, off, max_output_bytes=limit)
                        got = bytes(buf[off:off + n])
                        self.assertTrue(all(b == 0xa5 for b in buf[:off] + buf[off + n:]))
                    else:
                        got = d.decode(stream, max_output_bytes=limit)
                    code = None
                except d.Ecf8Error as err:
                    code = err.code
                self.assertEqual(code, v.get("error"))
                if want is not None:
                    self.assertTrue(got == want, "decoded bytes differ")
            with self.subTest(vector=v["name"], via="command line"):
                if "outputBytes" in p:
                    self.skipTest("the command line has no caller-provided output buffer (decode_into)")
                out = os.path.join(self.tmp.name, "api-" + v["name"] + ".fp8")
                r = run_cli(os.path.join(VECTORS, v["stream"]), out, "--max-output-bytes", str(limit))
                if "error" in v:
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertTrue(r.stderr.startswith("ecf8: %s: " % v["error"]), r.stderr)
                    self.assertFalse(os.path.exists(out))
                else:
                    self.assertEqual(r.returncode, 0, r.stderr)
                    with open(out, "rb") as f:
                        self.assertTrue(f.read() == want)

    def test_canonical_reencode(self):
        # §12: our reference encoder reproduces every vector marked canonical.
        for v in self.manifest["valid"]:
            if v.get("canonical"):
                with self.subTest(vector=v["name"]):
                    self.assertTrue(e.encode(read(v["decoded"]), v["threadsPerBlock"]) == read(v["stream"]))


# --------------------------------------------------------------------------
# Robustness and a large stream
# --------------------------------------------------------------------------

class TestHostileInput(unittest.TestCase):
    """Any byte string must give bytes or an Ecf8Error, nothing else."""

    def seeds(self):
        rng = random.Random(11)
        out = [hand_stream(), e.encode(b""), e.encode(bytes(range(256)), 4)]
        out.append(e.encode(bytes(rng.randrange(256) for _ in range(3000)), 8))
        return out

    def check(self, stream):
        try:
            d.decode(stream)
        except d.Ecf8Error as err:
            self.assertTrue(err.code.startswith("ECF8_"))

    def test_mutations(self):
        rng = random.Random(12)
        for seed in self.seeds():
            for _ in range(400):
                s = bytearray(seed)
                kind = rng.randrange(5)
                if kind == 0 and s:                     # flip bits
                    for _ in range(rng.randint(1, 4)):
                        s[rng.randrange(len(s))] ^= 1 << rng.randrange(8)
                elif kind == 1:                          # truncate / extend
                    s = s[:rng.randrange(len(s) + 1)] + bytes(rng.randrange(3) * 8)
                elif kind == 2:                          # random header field
                    off = rng.choice([8, 16, 24, 48, 56, 64, 72])
                    s[off:off + 8] = rng.getrandbits(64).to_bytes(8, "little")
                else:                                    # flip metadata/data bits and reseal
                    if len(s) > 88:
                        s[rng.randrange(88, len(s))] ^= 1 << rng.randrange(8)
                    try:
                        s = bytearray(reseal(bytes(s)))
                    except d.Ecf8Error:
                        pass
                self.check(bytes(s))

    def test_random_bytes(self):
        rng = random.Random(13)
        for _ in range(500):
            n = rng.randrange(200)
            s = b"ECF8\x01\x01\x08\x00" + bytes(rng.randrange(256) for _ in range(n))
            self.check(s)

    def test_no_huge_allocation(self):
        # A header claiming 2^62 elements must fail fast (step 12) without allocating.
        b = bytearray(hand_stream()[:88])
        n = 1 << 62
        b[16:24] = n.to_bytes(8, "little")
        b[24:32] = n.to_bytes(8, "little")            # lengths 1,1 => bits = n
        h_used = d.ceil_div(n, 8)
        nb = d.ceil_div(h_used, 8)
        for off, size in ((48, 8 * (nb + 1)), (56, d.roundup8(d.ceil_div(nb, 2))),
                          (64, d.roundup8(h_used) + 16), (72, d.roundup8(d.ceil_div(n, 2)))):
            b[off:off + 8] = size.to_bytes(8, "little")
        self.assertEqual(code_of(bytes(b)), "ECF8_TRUNCATED")


class TestCli(unittest.TestCase):
    def test_usage(self):
        r = run_cli()
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.splitlines()), 1)

    def test_missing_input(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_cli(os.path.join(tmp, "nope.ecf8"), os.path.join(tmp, "out"))
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.splitlines()), 1)

    def test_garbage_is_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "in.ecf8")
            with open(src, "wb") as f:
                f.write(b"ECF8" + os.urandom(300))
            out = os.path.join(tmp, "out.fp8")
            r = run_cli(src, out)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"^ecf8: ECF8_[A-Z0-9_]+: [^\n]*\n$")
            self.assertFalse(os.path.exists(out))

    def test_success(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "in.ecf8")
            with open(src, "wb") as f:
                f.write(hand_stream())
            out = os.path.join(tmp, "out.fp8")
            r = run_cli(src, out)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            with open(out, "rb") as f:
                self.assertEqual(f.read(), bytes([0x38, 0xC0, 0x38]))


class TestLargeStream(unittest.TestCase):
    # Decodes a million elements correctly (speed is not asserted: tests never depend on how busy the machine is).
    def test_one_million_elements(self):
        rng = random.Random(21)
        # Gaussian-like exponents around 1.0, random sign/mantissa
        data = bytes(((rng.random() < 0.5) << 7) | (max(0, min(15, int(rng.gauss(7, 2)))) << 3)
                     | rng.randrange(8) for _ in range(1 << 20))
        s = e.encode(data)
        self.assertEqual(d.decode(s), data)


if __name__ == "__main__":
    unittest.main()
