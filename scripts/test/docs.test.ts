/**
 * Docs that run: every fenced `sh`/`bash`/`ts`/`js` block of README.md, docs/*.md and the packages' READMEs is
 * executed as written (scripts/docs/snippets.ts has the convention and the skip marker), and every relative link
 * and #anchor between our markdown files must resolve.
 *
 * Each markdown file gets a fresh scratch directory inside the repository (.cache/docs-test/<file>), with the
 * repository's directories linked in, so `npx ecf8 ...` finds the workspace's bin and a path such as
 * `packages/cli/samples/model.safetensors` works as it does from the repository root, while every file a snippet
 * writes stays in the scratch directory. Blocks of one file run in order (a later block may use an earlier one's
 * output). Shell blocks run with `bash -euo pipefail`; TS/JS blocks run as ES modules through tsx and import the
 * built @ecf8/* packages.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brokenLinks, documentedFiles, extractSnippets, linkedFiles, RUNNABLE, type Snippet } from '../docs/snippets.js';

const ROOT = resolve(__dirname, '..', '..');
const SCRATCH = join(ROOT, '.cache', 'docs-test');
const BIN = join(ROOT, 'node_modules', '.bin');
const LINKED_DIRS = ['packages', 'conformance', 'test-vectors', 'cuda', 'spec', 'docs', 'scripts'];
const built = ['core', 'fast', 'safetensors', 'cli'].every((p) => existsSync(join(ROOT, 'packages', p, 'dist', 'index.js')));
const SNIPPET_TIMEOUT_MS = 240_000;

function scratchFor(file: string): string {
  const dir = join(SCRATCH, file.replace(/[/.]/g, '_'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const d of LINKED_DIRS) if (existsSync(join(ROOT, d))) symlinkSync(join(ROOT, d), join(dir, d));
  // tsx reads the nearest tsconfig.json: without this one it would take the repository's, whose `paths` map
  // @ecf8/* to the TypeScript sources; snippets must import the built packages, as a user's code does.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true } }));
  return dir;
}

function runSnippet(s: Snippet, cwd: string): { status: number | null; output: string } {
  const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };
  const options = { cwd, env, encoding: 'utf8' as const, timeout: SNIPPET_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
  let r;
  if (s.lang === 'sh' || s.lang === 'bash') r = spawnSync('bash', ['-euo', 'pipefail', '-c', s.code], options);
  else {
    const script = join(cwd, `snippet-line-${s.line}.${s.lang === 'ts' ? 'ts' : 'mjs'}`);
    writeFileSync(script, s.code);
    r = spawnSync(join(BIN, 'tsx'), [script], options);
  }
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  return { status: r.status, output };
}

const files = documentedFiles(ROOT);

describe('documentation snippets run as written', () => {
  it('finds the documented files and their snippets', () => {
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(3);
    expect(files.flatMap((f) => extractSnippets(ROOT, f)).filter((s) => RUNNABLE.has(s.lang)).length).toBeGreaterThan(10);
  });

  for (const file of files) {
    const snippets = extractSnippets(ROOT, file).filter((s) => RUNNABLE.has(s.lang));
    if (snippets.length === 0) continue;
    describe(file, () => {
      let cwd = '';
      for (const s of snippets) {
        const name = `${file}:${s.line} (${s.lang})`;
        if (s.skip) {
          it.skip(`${name} — skipped: ${s.skip}`, () => {});
          continue;
        }
        // `npm test` builds first; vitest alone without a build skips these with the reason in their names.
        it.skipIf(!built && !process.env.CI)(`${name}${built ? '' : ' (skipped: packages not built; run npm run build)'}`, () => {
          if (!cwd) cwd = scratchFor(file);
          const manifests = () => ['package.json', 'package-lock.json'].map((f) => readFileSync(join(ROOT, f), 'utf8'));
          const before = manifests();
          const r = runSnippet(s, cwd);
          expect(r.status, `${name} failed:\n${s.code}\n--- output ---\n${r.output}`).toBe(0);
          // npm walks up from the scratch directory to the repository: a snippet must not change its manifests.
          expect(manifests(), `${name} changed the repository's package.json or package-lock.json`).toEqual(before);
        }, SNIPPET_TIMEOUT_MS + 10_000);
      }
    });
  }
});

describe("the README's set-up commands", () => {
  it('are what CI runs, line for line (.ci/run), followed by the bin check and the packaging test', () => {
    const setup = extractSnippets(ROOT, 'README.md').filter((s) => s.skip?.includes('.ci/run'));
    expect(setup.map((s) => s.code.trim())).toEqual(['npm install && npm run demo', 'npm install && npm test']);
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n').map((l) => l.trim());
    const at = setup.map((s) => ci.indexOf(s.code.trim()));
    expect(at.every((i) => i >= 0) && at[0] < at[1]).toBe(true);
    expect(ci.indexOf('npx --no-install ecf8 --help')).toBeGreaterThan(at[1]);
    expect(ci).toContain('npm run test:packaging');
  });
});

describe('links between the markdown files', () => {
  for (const file of linkedFiles(ROOT)) {
    it(`${file}: every relative link and #anchor resolves`, () => {
      expect(brokenLinks(ROOT, file)).toEqual([]);
    });
  }
});
