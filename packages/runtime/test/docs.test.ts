/** docs/runtime.md shows the tested example as it is. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../../..');

describe('docs/runtime.md', () => {
  it('shows examples/forward-pass.ts verbatim', () => {
    const doc = readFileSync(join(root, 'docs/runtime.md'), 'utf8');
    const example = readFileSync(join(root, 'packages/runtime/examples/forward-pass.ts'), 'utf8');
    expect(doc).toContain('```ts\n' + example + '```\n');
  });
});
