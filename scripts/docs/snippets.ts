/**
 * The documentation's code: every fenced block of the markdown files a user reads, with the docs-test markers, and
 * the relative links between those files. Used by scripts/test/docs.test.ts, which runs the blocks and checks links.
 *
 * Convention: a block tagged `sh`, `bash`, `ts` or `js` runs as written; the line
 * `<!-- docs-test: skip: <reason> -->` immediately before its opening fence skips it with that reason. Other tags
 * (`text`, `html`, `c`, `json`, none) are not run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const RUNNABLE = new Set(['sh', 'bash', 'ts', 'js']);

export interface Snippet {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** The reason given by a skip marker, if any. */
  skip?: string;
}

const SKIP_MARKER = /^<!--\s*docs-test:\s*skip:\s*(.+?)\s*-->\s*$/;

/** The markdown files whose snippets must run: README.md, docs/*.md, every package's README.md. */
export function documentedFiles(root: string): string[] {
  const files = ['README.md'];
  const list = (dir: string) => (existsSync(join(root, dir)) ? readdirSync(join(root, dir)).sort() : []);
  for (const f of list('docs')) if (f.endsWith('.md')) files.push(`docs/${f}`);
  for (const p of list('packages')) if (existsSync(join(root, 'packages', p, 'README.md'))) files.push(`packages/${p}/README.md`);
  if (existsSync(join(root, 'conformance', 'README.md'))) files.push('conformance/README.md');
  return files;
}

/** Every fenced block of one markdown file (``` or ~~~ fences), with the skip marker before it, if any. */
export function extractSnippets(root: string, file: string): Snippet[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++]);
    const marker = i > 0 ? SKIP_MARKER.exec(lines[i - 1].trim()) : null;
    out.push({ file, line: i + 1, lang: open[3].toLowerCase(), code: body.join('\n') + '\n', skip: marker?.[1] });
    i = j;
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped (except - and _), spaces to hyphens. */
export function headingAnchor(text: string): string {
  return text
    .trim()
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file's headings (duplicates numbered -1, -2 as GitHub does). */
export function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = headingAnchor(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

export interface BrokenLink {
  file: string;
  line: number;
  link: string;
  reason: string;
}

/** Relative links (and #anchors) of one markdown file that do not resolve inside the repository. */
export function brokenLinks(root: string, file: string): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  let inFence = false;
  lines.forEach((line, i) => {
    if (/^\s*(`{3,}|~{3,})/.test(line)) inFence = !inFence;
    if (inFence) return;
    const code = line.replace(/`[^`]*`/g, '');
    for (const m of code.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const link = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, https:, mailto:
      const [target, anchor] = link.split('#', 2);
      const path = target === '' ? join(root, file) : resolve(root, dirname(file), decodeURIComponent(target));
      const report = (reason: string) => broken.push({ file, line: i + 1, link, reason });
      if (relative(root, path).startsWith('..')) report('points outside the repository');
      else if (!existsSync(path)) report('no such file');
      else if (anchor !== undefined && path.endsWith('.md') && !anchorsOf(path).has(anchor)) report(`no heading with anchor #${anchor}`);
    }
  });
  return broken;
}

/** Markdown files whose links are checked: the documented ones plus the spec and the other READMEs in git. */
export function linkedFiles(root: string): string[] {
  const more = ['spec/ecf8-v1.md', 'test-vectors/README.md', 'test-vectors/sources/README.md', 'conformance/examples/python/README.md'];
  return [...documentedFiles(root), ...more.filter((f) => existsSync(join(root, f)))];
}
