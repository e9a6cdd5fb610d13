/**
 * The hostile official-layout releases kept in test/abuse/official (issue #13, points 1, 6, 8, 12, 13, 16): each
 * must fail with its stable code and message, or import with exactly its expected tensors; nothing is written on
 * failure. The committed files must be what generate.ts writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOfficial, parseSafetensors } from '../src/index.js';
import { abuseCases, type AbuseCase } from './abuse/official/generate.js';

const folder = fileURLToPath(new URL('./abuse/official', import.meta.url));
let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'ecf8-official-abuse-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

const cases = abuseCases();

describe('hostile official-layout releases (test/abuse/official)', () => {
  it('the committed files are exactly what generate.ts writes', () => {
    const dirs = readdirSync(folder).filter((f) => f !== 'generate.ts').sort();
    expect(dirs).toEqual([...cases.keys()].sort());
    for (const [name, c] of cases) {
      for (const [file, content] of c.files) {
        const want = typeof content === 'string' ? new TextEncoder().encode(content) : content;
        expect(new Uint8Array(readFileSync(join(folder, name, file))), `${name}/${file}`).toEqual(want);
      }
      expect(JSON.parse(readFileSync(join(folder, name, 'case.json'), 'utf8'))).toEqual(c.expect);
    }
  });

  for (const name of cases.keys()) {
    it(name, async () => {
      const expected = JSON.parse(readFileSync(join(folder, name, 'case.json'), 'utf8')) as AbuseCase;
      const target = join(out, `${name}.safetensors`);
      const run = importOfficial(join(folder, name, expected.input), target, { plain: true });
      if (expected.code) {
        const e = (await run.then(() => null, (x: unknown) => x)) as { code: string; message: string } | null;
        expect(e, 'must fail').not.toBeNull();
        expect(e!.code).toBe(expected.code);
        expect(e!.message).toMatch(new RegExp(expected.message!)); // the case file is ours, not input
        expect(e!.message.split('\n')).toHaveLength(1);
        expect(existsSync(target)).toBe(false);
      } else {
        const r = await run;
        expect(r.tensors.map((t) => t.name)).toEqual(expected.tensors);
        const h = parseSafetensors(new Uint8Array(readFileSync(target)));
        for (const t of expected.tensors!) expect(h.byName.get(t)?.dtype).toBe('F8_E4M3');
      }
    });
  }
});
