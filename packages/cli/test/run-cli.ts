/** Runs the `ecf8` command in-process (the CLI's `main`), capturing what it writes: the helper every CLI test uses. */
import { main } from '../src/index.js';

export async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}
