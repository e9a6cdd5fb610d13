/**
 * SVG plot of an {@link InspectReport}, hand-written (no dependencies): exponent entropy per tensor (per block and
 * tensor kind when names carry a block index, like the paper's Figure 1) against the bounds of its Theorem 2.1 at
 * alpha = 2 (upper 2.67 bits, the "FP4.67" limit; lower 1.6 bits), and exponent histograms as small multiples.
 */
import type { InspectReport, TensorStats } from './inspect.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79', '#637939'];
const W = 1000;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (x: number, d = 1) => Number(x.toFixed(d)).toString();
const short = (s: string, n: number) => (s.length <= n ? s : '…' + s.slice(s.length - n + 1));
/**
 * `label` shortened from the left so that `label + suffix` fits `widthPx` at `fontPx`, assuming 0.6 em per
 * character (wider than Helvetica's/Arial's average, so the estimate errs on the short side).
 */
const fit = (label: string, suffix: string, widthPx: number, fontPx: number) => short(label, Math.max(4, Math.floor(widthPx / (0.6 * fontPx)) - suffix.length));

function mb(bytes: number): string {
  if (bytes >= 1e9) return `${f(bytes / 1e9, 2)} GB`;
  if (bytes >= 1e6) return `${f(bytes / 1e6, 2)} MB`;
  if (bytes >= 1e3) return `${f(bytes / 1e3, 1)} kB`;
  return `${bytes} B`;
}

/** Splits a tensor name into its block index (first all-digit component) and its kind (that index replaced by *). */
export function blockAndKind(name: string): { block: number | null; kind: string } {
  const parts = name.split('.');
  const i = parts.findIndex((p) => /^\d+$/.test(p));
  if (i < 0) return { block: null, kind: name };
  const kindParts = parts.slice();
  kindParts[i] = '*';
  return { block: Number(parts[i]), kind: kindParts.join('.') };
}

function entropyOf(hist: number[]): number {
  const total = hist.reduce((a, b) => a + b, 0);
  let h = 0;
  for (const c of hist) if (c > 0) h -= (c / total) * Math.log2(c / total);
  return h;
}

interface Group {
  label: string;
  color: string;
  histogram: number[];
  elements: number;
  points: { x: number; tensor: TensorStats }[];
}

/** Renders the report as an SVG document (a string). */
export function renderInspectSvg(report: InspectReport, title = report.input): string {
  const all = report.tensors.filter((t) => t.elements > 0);
  const allParsed = all.map((t) => ({ t, ...blockAndKind(t.name) }));
  const blocks = new Set(allParsed.filter((p) => p.block !== null).map((p) => p.block));
  // Per-block view (Figure 1 style) when numbered blocks hold most of the FP8 elements.
  const inBlocks = allParsed.filter((p) => p.block !== null).reduce((a, p) => a + p.t.elements, 0);
  const byBlock = blocks.size >= 2 && 2 * inBlocks >= all.reduce((a, t) => a + t.elements, 0);
  // With block indices, tensors outside blocks (embeddings, heads) are left out of the entropy chart.
  const parsed = byBlock ? allParsed.filter((p) => p.block !== null) : allParsed;
  const tensors = parsed.map((p) => p.t);
  const omitted = all.length - tensors.length;
  // Groups: tensor kinds (by block mode) or single tensors.
  const groups = new Map<string, Group>();
  parsed.forEach((p, i) => {
    const key = byBlock ? p.kind : p.t.name;
    let g = groups.get(key);
    if (!g) {
      g = { label: key, color: '', histogram: new Array(16).fill(0), elements: 0, points: [] };
      groups.set(key, g);
    }
    g.points.push({ x: byBlock ? (p.block ?? -1) : i, tensor: p.t });
    g.elements += p.t.elements;
    p.t.histogram.forEach((c, x) => (g!.histogram[x] += c));
  });
  const ordered = [...groups.values()].sort((a, b) => b.elements - a.elements);
  ordered.forEach((g, i) => (g.color = PALETTE[i % PALETTE.length]));

  const out: string[] = [];
  const tot = report.totals;
  const lines = [
    `${tot.fp8Tensors} FP8 E4M3 tensors, ${tot.elements.toLocaleString('en-US')} elements (${mb(tot.fp8Bytes)}); other tensors ${mb(tot.otherBytes)}`,
    `ECF8 ${mb(tot.streamBytes)} = ${f((100 * tot.streamBytes) / Math.max(1, tot.fp8Bytes), 2)}% of FP8 · Shannon bound (4 + H)/8: ${mb(tot.shannonBoundBytes)} · FP4.67: ${mb(tot.fp467Bytes)}`,
    `exponent entropy: pooled ${f(tot.pooledEntropy, 3)} bits, element-weighted mean ${f(tot.meanEntropy, 3)} bits; Huffman mean length ${f(tot.meanCodeLength, 3)} bits`,
  ];

  // Panel A: entropy per tensor / block.
  const top = 110;
  const ax = { left: 70, right: W - 250, top: top + 30, bottom: top + 330 };
  const yMax = 4;
  const yOf = (h: number) => ax.bottom - (h / yMax) * (ax.bottom - ax.top);
  const xs = ordered.flatMap((g) => g.points.map((p) => p.x));
  const xMin = byBlock ? Math.min(...xs, 0) : 0;
  const xMax = byBlock ? Math.max(...xs, 1) : Math.max(tensors.length - 1, 1);
  const xOf = (x: number) => (byBlock || tensors.length > 1 ? ax.left + 10 + ((x - xMin) / Math.max(1, xMax - xMin)) * (ax.right - ax.left - 20) : (ax.left + ax.right) / 2);

  out.push(`<text x="${ax.left}" y="${top + 15}" class="h2">Exponent entropy ${byBlock ? 'per block (colour = tensor kind, as in the paper\'s Figure 1)' : 'per tensor (bar) and Huffman mean code length (tick)'}</text>`);
  out.push(`<rect x="${ax.left}" y="${ax.top}" width="${ax.right - ax.left}" height="${ax.bottom - ax.top}" fill="#fafafa" stroke="#999"/>`);
  for (let h = 0; h <= yMax; h += 0.5) {
    const y = yOf(h);
    out.push(`<line x1="${ax.left}" x2="${ax.right}" y1="${f(y)}" y2="${f(y)}" stroke="#e4e4e4"/>`);
    if (Number.isInteger(h)) out.push(`<text x="${ax.left - 8}" y="${f(y + 4)}" text-anchor="end" class="tick">${h}</text>`);
  }
  out.push(`<text transform="translate(${ax.left - 42},${(ax.top + ax.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis">exponent entropy H (bits)</text>`);
  out.push(`<text x="${(ax.left + ax.right) / 2}" y="${ax.bottom + 36}" text-anchor="middle" class="axis">${byBlock ? `block index${omitted ? ` (${omitted} tensors outside numbered blocks not shown)` : ''}` : 'tensor (file order)'}</text>`);
  // x ticks
  const span = xMax - xMin;
  const step = Math.max(1, Math.ceil(span / 12));
  for (let x = xMin; x <= xMax; x += step) {
    if (!byBlock && tensors.length === 0) break;
    out.push(`<text x="${f(xOf(x))}" y="${ax.bottom + 16}" text-anchor="middle" class="tick">${x}</text>`);
  }
  // Theorem 2.1 bounds (alpha = 2).
  const b = report.bounds;
  out.push(`<line x1="${ax.left}" x2="${ax.right}" y1="${f(yOf(b.upperBits))}" y2="${f(yOf(b.upperBits))}" stroke="#c00" stroke-width="1.5" stroke-dasharray="7 4"/>`);
  out.push(`<text x="${ax.right - 4}" y="${f(yOf(b.upperBits) - 6)}" text-anchor="end" class="bound">Theorem 2.1 upper bound (α = 2): H ≤ ${f(b.upperBits, 2)} bits → FP4.67 = ${f(b.upperBits, 2)} + 1 sign + 1 mantissa bit</text>`);
  out.push(`<line x1="${ax.left}" x2="${ax.right}" y1="${f(yOf(b.lowerBits))}" y2="${f(yOf(b.lowerBits))}" stroke="#888" stroke-dasharray="2 4"/>`);
  out.push(`<text x="${ax.right - 4}" y="${f(yOf(b.lowerBits) + 14)}" text-anchor="end" class="tick">lower bound (α = 2): ${f(b.lowerBits, 2)} bits</text>`);

  if (byBlock) {
    for (const g of ordered) {
      const pts = g.points.slice().sort((p, q) => p.x - q.x);
      if (pts.length > 1) out.push(`<polyline fill="none" stroke="${g.color}" stroke-width="1.2" opacity="0.8" points="${pts.map((p) => `${f(xOf(p.x))},${f(yOf(p.tensor.entropy))}`).join(' ')}"/>`);
      for (const p of pts) out.push(`<circle cx="${f(xOf(p.x))}" cy="${f(yOf(p.tensor.entropy))}" r="2.6" fill="${g.color}"><title>${esc(p.tensor.name)}: H = ${f(p.tensor.entropy, 3)} bits</title></circle>`);
    }
  } else if (tensors.length > 0) {
    const bw = Math.max(1, Math.min(40, ((ax.right - ax.left - 20) / Math.max(1, tensors.length)) * 0.7));
    tensors.forEach((t, i) => {
      const x = xOf(i);
      const color = groups.get(t.name)?.color ?? PALETTE[0];
      out.push(`<rect x="${f(x - bw / 2)}" y="${f(yOf(t.entropy))}" width="${f(bw)}" height="${f(ax.bottom - yOf(t.entropy))}" fill="${color}" opacity="0.75"><title>${esc(t.name)}: H = ${f(t.entropy, 3)} bits, mean code length ${f(t.meanCodeLength, 3)} bits</title></rect>`);
      out.push(`<line x1="${f(x - bw / 2 - 1)}" x2="${f(x + bw / 2 + 1)}" y1="${f(yOf(t.meanCodeLength))}" y2="${f(yOf(t.meanCodeLength))}" stroke="#000" stroke-width="1.5"/>`);
    });
  }
  // Legend.
  const legend = ordered.slice(0, 14);
  legend.forEach((g, i) => {
    const y = ax.top + 10 + i * 20;
    const h = entropyOf(g.histogram);
    out.push(`<rect x="${ax.right + 16}" y="${y - 9}" width="12" height="12" fill="${g.color}"/>`);
    const suffix = ` (${f(h, 2)})`;
    out.push(`<text x="${ax.right + 34}" y="${y + 1}" class="legend"><title>${esc(g.label)}</title>${esc(fit(g.label, suffix, W - (ax.right + 34) - 10, 11))}${esc(suffix)}</text>`);
  });
  if (ordered.length > legend.length) out.push(`<text x="${ax.right + 16}" y="${ax.top + 10 + legend.length * 20}" class="tick">+ ${ordered.length - legend.length} more</text>`);

  // Panel B: histograms.
  const panels: { label: string; histogram: number[]; color: string }[] = [{ label: 'all FP8 tensors', histogram: tot.histogram, color: '#444' }];
  for (const g of ordered.slice(0, 11)) panels.push({ label: g.label, histogram: g.histogram, color: g.color });
  const cols = 4;
  const pw = (W - 80) / cols;
  const ph = 150;
  const top2 = ax.bottom + 70;
  out.push(`<text x="${ax.left}" y="${top2}" class="h2">Exponent histograms (4-bit exponent field of E4M3, share of elements)${ordered.length > 11 ? ` — largest ${11} of ${ordered.length} groups` : ''}</text>`);
  panels.forEach((p, k) => {
    const px = 40 + (k % cols) * pw;
    const py = top2 + 20 + Math.floor(k / cols) * (ph + 40);
    const total = p.histogram.reduce((a, c) => a + c, 0) || 1;
    const maxShare = Math.max(...p.histogram.map((c) => c / total), 1e-9);
    const inner = { l: px + 30, r: px + pw - 14, t: py + 22, b: py + ph };
    // The title spans the panel's own width only (from its left edge to 10 px before the next panel's title).
    const suffix = ` · H = ${f(entropyOf(p.histogram), 2)}`;
    out.push(`<text x="${px + 4}" y="${py + 12}" class="ptitle"><title>${esc(p.label)}</title>${esc(fit(p.label, suffix, pw - 14, 11))}${esc(suffix)}</text>`);
    out.push(`<rect x="${inner.l}" y="${inner.t}" width="${inner.r - inner.l}" height="${inner.b - inner.t}" fill="#fafafa" stroke="#bbb"/>`);
    const bw = (inner.r - inner.l) / 16;
    p.histogram.forEach((c, x) => {
      const share = c / total;
      const h = (share / maxShare) * (inner.b - inner.t - 4);
      if (c > 0) out.push(`<rect x="${f(inner.l + x * bw + 1)}" y="${f(inner.b - h)}" width="${f(bw - 2)}" height="${f(h)}" fill="${p.color}" opacity="0.8"><title>exponent ${x}: ${f(100 * share, 2)}%</title></rect>`);
      if (x % 3 === 0 || x === 15) out.push(`<text x="${f(inner.l + x * bw + bw / 2)}" y="${inner.b + 12}" text-anchor="middle" class="tick">${x}</text>`);
    });
    out.push(`<text x="${inner.l - 4}" y="${inner.t + 8}" text-anchor="end" class="tick">${f(100 * maxShare, 0)}%</text>`);
  });
  const rows = Math.ceil(panels.length / cols);
  const height = top2 + 20 + rows * (ph + 40) + 10;

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<style>.h1{font-size:18px;font-weight:bold}.h2{font-size:14px;font-weight:bold}.sub{font-size:12px;fill:#333}.tick{font-size:10px;fill:#555}.axis{font-size:12px;fill:#333}.bound{font-size:11px;fill:#c00;paint-order:stroke;stroke:#fff;stroke-width:3px}.legend{font-size:11px}.ptitle{font-size:11px;fill:#222}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="20" y="28" class="h1">ECF8 exponent analysis: ${esc(short(title, 80))}</text>`,
    ...lines.map((l, i) => `<text x="20" y="${52 + i * 17}" class="sub">${esc(l)}</text>`),
    ...out,
    `</svg>`,
    '',
  ].join('\n');
}
