/**
 * A safe matcher for the module patterns of the authors' `pattern_dict.json` (spec/ecf8-safetensors-v1.md §8). Their loader calls
 * Python's `re.fullmatch(pattern, module_name)`; the patterns come from the input file, so they must never choose
 * what code runs or for how long. Patterns are parsed here into a small automaton and matched by simulating every
 * state at once (no backtracking): time is linear in the name length times the pattern size, whatever the pattern.
 *
 * The subset is what the authors' patterns (and our exported ones) use, and a little more:
 *   literal characters; `.`; escapes `\d \D \w \W \s \S`, `\A \Z`, `\n \t \r \f \v`, `\` + any punctuation;
 *   classes `[...]` with ranges, `^` negation and the escapes above; groups `(...)`, `(?:...)`; alternation `|`;
 *   quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too: for a yes/no match they mean the same); anchors `^ $`;
 *   lookaheads `(?=...)` and `(?!...)` whose content has a bounded width (e.g. `(?![0-2](?:[^0-9]|$))`).
 * Anything else (backreferences, lookbehind, named groups, inline flags, `\b`, ...) is a clear error. Classes are
 * ASCII (`\d` is [0-9], `\w` is [A-Za-z0-9_]); Python's Unicode classes differ only outside ASCII.
 */
import { ModelErrorCode, modelFail } from './errors.js';

/** Longest pattern accepted (characters), and most automaton states after expanding `{n,m}`. */
export const MAX_PATTERN_LENGTH = 4096;
export const MAX_PATTERN_STATES = 16384;

type Ranges = number[]; // flat [lo0, hi0, lo1, hi1, ...] of UTF-16 code units, inclusive

type Node =
  | { kind: 'set'; ranges: Ranges; negated: boolean }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; body: Node; min: number; max: number } // max = Infinity for unbounded
  | { kind: 'start' }
  | { kind: 'end' } // Python `$`: end of string or before a final newline
  | { kind: 'endAbsolute' } // `\Z`
  | { kind: 'look'; body: Node; negated: boolean };

const DIGIT: Ranges = [48, 57];
const WORD: Ranges = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE: Ranges = [9, 13, 32, 32];
const NEWLINE = 10;

function unsupported(pattern: string, at: number, what: string): never {
  return modelFail(ModelErrorCode.BAD_OFFICIAL_LAYOUT, `pattern ${JSON.stringify(pattern)}: ${what} at offset ${at} (not valid in the supported pattern subset, see docs/model-files.md)`);
}

class Parser {
  i = 0;
  constructor(readonly src: string) {}

  fail(what: string): never {
    return unsupported(this.src, this.i, what);
  }

  parse(): Node {
    const node = this.alternation();
    if (this.i < this.src.length) this.fail(`unbalanced ${JSON.stringify(this.src[this.i])}`);
    return node;
  }

  alternation(): Node {
    const options = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0] : { kind: 'alt', options };
  }

  sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      let atom = this.atom();
      const q = this.quantifier();
      if (q) {
        if (atom.kind === 'start' || atom.kind === 'end' || atom.kind === 'endAbsolute' || atom.kind === 'look') this.fail('a quantifier on an assertion');
        atom = { kind: 'repeat', body: atom, min: q.min, max: q.max };
        if (this.src[this.i] === '?') this.i++; // lazy: same yes/no answer
        if (this.peekQuantifier()) this.fail('a repeated quantifier');
      }
      items.push(atom);
    }
    return items.length === 1 ? items[0] : { kind: 'seq', items };
  }

  /** `{n}`, `{n,}`, `{n,m}` when well formed (otherwise `{` is a literal, as in Python). */
  braces(at: number): { min: number; max: number; end: number } | null {
    const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(this.src.slice(at, at + 16));
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (max < min) this.fail('a {min,max} with max < min');
    return { min, max, end: at + m[0].length };
  }

  peekQuantifier(): boolean {
    const c = this.src[this.i];
    return c === '*' || c === '+' || c === '?' || (c === '{' && this.braces(this.i) !== null);
  }

  quantifier(): { min: number; max: number } | null {
    const c = this.src[this.i];
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Infinity };
    }
    if (c === '{') {
      const b = this.braces(this.i);
      if (b) {
        this.i = b.end;
        return b;
      }
    }
    return null;
  }

  atom(): Node {
    const c = this.src[this.i];
    if (c === '(') {
      this.i++;
      let look: boolean | null = null;
      if (this.src[this.i] === '?') {
        const k = this.src[this.i + 1];
        if (k === ':') this.i += 2;
        else if (k === '=' || k === '!') {
          look = k === '!';
          this.i += 2;
        } else this.fail(`the group syntax "(?${k ?? ''}"`);
      }
      const body = this.alternation();
      if (this.src[this.i] !== ')') this.fail('a missing ")"');
      this.i++;
      if (look === null) return body;
      if (maxWidth(body) === Infinity) this.fail('a lookahead of unbounded width');
      return { kind: 'look', body, negated: look };
    }
    if (c === '[') return this.characterClass();
    if (c === '.') {
      this.i++;
      return { kind: 'set', ranges: [NEWLINE, NEWLINE], negated: true };
    }
    if (c === '^') {
      this.i++;
      return { kind: 'start' };
    }
    if (c === '$') {
      this.i++;
      return { kind: 'end' };
    }
    if (c === '*' || c === '+' || c === '?') this.fail(`nothing to repeat before "${c}"`);
    if (c === '\\') {
      const e = this.escape(false);
      if (e === 'A') return { kind: 'start' };
      if (e === 'Z') return { kind: 'endAbsolute' };
      return e;
    }
    this.i++;
    const code = c.charCodeAt(0);
    return { kind: 'set', ranges: [code, code], negated: false };
  }

  /** An escape after `\` (at this.i); in a class, anchors are not allowed. */
  escape(inClass: boolean): Node & { kind: 'set' } | 'A' | 'Z' {
    const e = this.src[this.i + 1];
    if (e === undefined) this.fail('a trailing "\\"');
    this.i += 2;
    const set = (ranges: Ranges, negated = false) => ({ kind: 'set' as const, ranges, negated });
    switch (e) {
      case 'd':
        return set(DIGIT);
      case 'D':
        return set(DIGIT, true);
      case 'w':
        return set(WORD);
      case 'W':
        return set(WORD, true);
      case 's':
        return set(SPACE);
      case 'S':
        return set(SPACE, true);
      case 'n':
        return set([10, 10]);
      case 't':
        return set([9, 9]);
      case 'r':
        return set([13, 13]);
      case 'f':
        return set([12, 12]);
      case 'v':
        return set([11, 11]);
      case 'A':
      case 'Z':
        if (inClass) this.fail(`"\\${e}" inside a class`);
        return e;
    }
    if (/[0-9A-Za-z]/.test(e)) {
      this.i -= 2;
      this.fail(`the escape "\\${e}"`);
    }
    const code = e.charCodeAt(0);
    return set([code, code]);
  }

  characterClass(): Node {
    this.i++; // '['
    let negated = false;
    if (this.src[this.i] === '^') {
      negated = true;
      this.i++;
    }
    const ranges: Ranges = [];
    const negatedParts: Ranges[] = [];
    let first = true;
    for (;;) {
      const c = this.src[this.i];
      if (c === undefined) this.fail('a missing "]"');
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      let lo: number;
      if (c === '\\') {
        const e = this.escape(true) as Node & { kind: 'set' };
        if (e.negated) {
          negatedParts.push(e.ranges);
          continue;
        }
        if (e.ranges.length > 2) {
          ranges.push(...e.ranges);
          continue;
        }
        lo = e.ranges[0];
      } else {
        if (c === '[' && this.src[this.i + 1] === ':') this.fail('a POSIX class');
        lo = c.charCodeAt(0);
        this.i++;
      }
      let hi = lo;
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== undefined && this.src[this.i + 1] !== ']') {
        this.i++;
        const d = this.src[this.i];
        if (d === '\\') {
          const e = this.escape(true) as Node & { kind: 'set' };
          if (e.negated || e.ranges.length > 2) this.fail('a class escape as a range end');
          hi = e.ranges[0];
        } else {
          hi = d.charCodeAt(0);
          this.i++;
        }
        if (hi < lo) this.fail('a reversed range');
      }
      ranges.push(lo, hi);
    }
    // [^...\D...] style classes: fold negated escapes in by complementing them over the UTF-16 range.
    for (const part of negatedParts) ranges.push(...complement(part));
    return { kind: 'set', ranges, negated };
  }
}

function complement(ranges: Ranges): Ranges {
  const pairs: [number, number][] = [];
  for (let k = 0; k < ranges.length; k += 2) pairs.push([ranges[k], ranges[k + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of pairs) {
    if (lo > next) out.push(next, lo - 1);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

function maxWidth(n: Node): number {
  switch (n.kind) {
    case 'set':
      return 1;
    case 'seq':
      return n.items.reduce((a, x) => a + maxWidth(x), 0);
    case 'alt':
      return Math.max(...n.options.map(maxWidth));
    case 'repeat':
      return n.max === 0 || maxWidth(n.body) === 0 ? 0 : n.max * maxWidth(n.body);
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Automaton: instructions in flat arrays (Thompson construction).

const OP_SET = 0;
const OP_SPLIT = 1;
const OP_JUMP = 2;
const OP_START = 3;
const OP_END = 4;
const OP_END_ABSOLUTE = 5;
const OP_LOOK = 6;
const OP_MATCH = 7;

interface Program {
  op: number[];
  a: number[]; // SET: set index; SPLIT/JUMP: target; LOOK: sub-program index
  b: number[]; // SPLIT: second target; LOOK: 1 when negated
  sets: { ranges: Ranges; negated: boolean }[];
  subs: Program[];
}

class Compiler {
  readonly program: Program = { op: [], a: [], b: [], sets: [], subs: [] };
  constructor(
    readonly pattern: string,
    readonly budget: { states: number },
  ) {}

  emit(op: number, a = 0, b = 0): number {
    if (++this.budget.states > MAX_PATTERN_STATES) unsupported(this.pattern, 0, `more than ${MAX_PATTERN_STATES} states`);
    this.program.op.push(op);
    this.program.a.push(a);
    this.program.b.push(b);
    return this.program.op.length - 1;
  }

  node(n: Node): void {
    const p = this.program;
    switch (n.kind) {
      case 'set':
        p.sets.push({ ranges: n.ranges, negated: n.negated });
        this.emit(OP_SET, p.sets.length - 1);
        return;
      case 'seq':
        for (const x of n.items) this.node(x);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.options.length; k++) {
          if (k < n.options.length - 1) {
            const split = this.emit(OP_SPLIT);
            p.a[split] = split + 1;
            this.node(n.options[k]);
            jumps.push(this.emit(OP_JUMP));
            p.b[split] = p.op.length;
          } else this.node(n.options[k]);
        }
        for (const j of jumps) p.a[j] = p.op.length;
        return;
      }
      case 'repeat': {
        for (let k = 0; k < n.min; k++) this.node(n.body);
        if (n.max === Infinity) {
          const split = this.emit(OP_SPLIT);
          p.a[split] = split + 1;
          this.node(n.body);
          this.emit(OP_JUMP, split);
          p.b[split] = p.op.length;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = this.emit(OP_SPLIT);
            p.a[split] = split + 1;
            splits.push(split);
            this.node(n.body);
          }
          for (const s of splits) p.b[s] = p.op.length;
        }
        return;
      }
      case 'start':
        this.emit(OP_START);
        return;
      case 'end':
        this.emit(OP_END);
        return;
      case 'endAbsolute':
        this.emit(OP_END_ABSOLUTE);
        return;
      case 'look': {
        const sub = new Compiler(this.pattern, this.budget);
        sub.node(n.body);
        sub.emit(OP_MATCH);
        p.subs.push(sub.program);
        this.emit(OP_LOOK, p.subs.length - 1, n.negated ? 1 : 0);
        return;
      }
    }
  }
}

function inSet(set: { ranges: Ranges; negated: boolean }, c: number): boolean {
  let hit = false;
  for (let k = 0; k < set.ranges.length; k += 2) {
    if (c >= set.ranges[k] && c <= set.ranges[k + 1]) {
      hit = true;
      break;
    }
  }
  return hit !== set.negated;
}

/**
 * Runs `p` on `s` from `from`. `whole`: the match must end at the end of `s` (fullmatch); otherwise any prefix
 * match counts (lookahead). All states advance together, each (state, position) visited once.
 */
function run(p: Program, s: string, from: number, whole: boolean): boolean {
  const n = p.op.length;
  let current: number[] = [];
  let next: number[] = [];
  const mark = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const look = (sub: number, at: number) => run(p.subs[sub], s, at, false);
  // Adds pc and everything reachable from it without consuming a character at position `at`; true on MATCH.
  const add = (list: number[], pc0: number, at: number): boolean => {
    let matched = false;
    stack.push(pc0);
    while (stack.length) {
      const pc = stack.pop()!;
      if (mark[pc] === at) continue;
      mark[pc] = at;
      switch (p.op[pc]) {
        case OP_SET:
          list.push(pc);
          break;
        case OP_MATCH:
          if (!whole || at === s.length) matched = true;
          break;
        case OP_JUMP:
          stack.push(p.a[pc]);
          break;
        case OP_SPLIT:
          stack.push(p.b[pc], p.a[pc]);
          break;
        case OP_START:
          if (at === 0) stack.push(pc + 1);
          break;
        case OP_END:
          if (at === s.length || (at === s.length - 1 && s.charCodeAt(at) === NEWLINE)) stack.push(pc + 1);
          break;
        case OP_END_ABSOLUTE:
          if (at === s.length) stack.push(pc + 1);
          break;
        case OP_LOOK:
          if (look(p.a[pc], at) !== (p.b[pc] === 1)) stack.push(pc + 1);
          break;
      }
    }
    return matched;
  };
  if (add(current, 0, from)) return true;
  for (let at = from; at < s.length && current.length > 0; at++) {
    const c = s.charCodeAt(at);
    next.length = 0;
    let matched = false;
    for (const pc of current) if (inSet(p.sets[p.a[pc]], c) && add(next, pc + 1, at + 1)) matched = true;
    if (matched) return true;
    [current, next] = [next, current];
  }
  return false;
}

export interface CompiledPattern {
  source: string;
  /** Python `re.fullmatch(source, name) is not None`, without backtracking. */
  fullmatch(name: string): boolean;
}

/** Parses a pattern of the supported subset; anything else throws ECF8_BAD_OFFICIAL_LAYOUT naming the construct. */
export function compilePattern(source: string): CompiledPattern {
  if (source.length > MAX_PATTERN_LENGTH) unsupported(source.slice(0, 40) + '...', 0, `a pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  const ast = new Parser(source).parse();
  const c = new Compiler(source, { states: 0 });
  c.node(ast);
  c.emit(OP_MATCH);
  const program = c.program;
  return { source, fullmatch: (name: string) => run(program, name, 0, true) };
}
