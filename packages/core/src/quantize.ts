/**
 * Float -> FP8 E4M3FN quantization (informative; not part of the stream format). Used to make FP8 tensors from
 * float weights the way "FP8-dynamic" checkpoints are made: one scale per tensor, scale = amax / 448, values
 * divided by the scale, rounded to nearest with ties to even, saturating at ±448. NaN maps to 0x7F.
 */

const MAX_FINITE = 448;
const MIN_NORMAL = 2 ** -6;
const SUBNORMAL_STEP = 2 ** -9;

/** Rounds one number to the nearest E4M3FN byte (ties to even, saturating). */
export function numberToE4M3(v: number): number {
  if (Number.isNaN(v)) return 0x7f;
  const sign = v < 0 || Object.is(v, -0) ? 0x80 : 0;
  const a = Math.abs(v);
  if (a >= MAX_FINITE) return sign | 0x7e;
  // Exponent of the binade holding a (subnormals share the step of the binade [2^-6, 2^-5) / 8 = 2^-9).
  let e = a >= MIN_NORMAL ? Math.floor(Math.log2(a)) : -6;
  if (a >= MIN_NORMAL && 2 ** e > a) e--; // guard against log2 rounding up just below a power of two
  if (a >= MIN_NORMAL && 2 ** (e + 1) <= a) e++;
  const step = a >= MIN_NORMAL ? 2 ** (e - 3) : SUBNORMAL_STEP;
  const q = a / step; // exact: division by a power of two
  const fl = Math.floor(q);
  const frac = q - fl;
  const r = frac > 0.5 || (frac === 0.5 && (fl & 1) === 1) ? fl + 1 : fl;
  const rounded = r * step;
  if (rounded >= MAX_FINITE) return sign | 0x7e;
  if (rounded < MIN_NORMAL) return sign | r; // subnormal (or zero): exponent field 0, mantissa r
  const exp = rounded >= 2 ** (e + 1) ? e + 1 : e; // rounding may carry into the next binade
  const mantissa = rounded / 2 ** exp * 8 - 8;
  return sign | ((exp + 7) << 3) | mantissa;
}

export interface QuantizedTensor {
  /** FP8 E4M3FN bytes. */
  data: Uint8Array;
  /** Dequantization scale: value ≈ e4m3(data[i]) * scale. */
  scale: number;
}

/** Per-tensor FP8 quantization with scale = amax / 448 (1 for an all-zero tensor). */
export function quantizeE4M3(values: ArrayLike<number>): QuantizedTensor {
  let amax = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > amax && Number.isFinite(a)) amax = a;
  }
  const scale = amax > 0 ? amax / MAX_FINITE : 1;
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = numberToE4M3(values[i] / scale);
  return { data, scale };
}
