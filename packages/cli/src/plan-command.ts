/**
 * `ecf8 plan MODEL`: the memory a compressed model takes when kept compressed with @ecf8/runtime (streams resident,
 * one decode workspace) against the plain FP8 model, from the files' headers alone (validated like every model
 * command; run `ecf8 verify` to check the streams themselves).
 */
import { join } from 'node:path';
import { ErrorCode, Ecf8Error } from '@ecf8/core';
import { formatMemoryReport, planMemory } from '@ecf8/runtime';
import { addContext, listSafetensors, readCompressedLayout, readModelHeader, type CompressedLayout } from '@ecf8/safetensors';
import { stat } from 'node:fs/promises';
import type { Io } from './commands.js';

/** Flags of `plan` that take a value. */
export const PLAN_VALUE_FLAGS = ['--slots', '--workspace-bytes'];

function count(flags: Map<string, string | true>, name: string): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `${name} needs a non-negative integer`);
  return Number(v);
}

async function layoutOf(path: string): Promise<CompressedLayout> {
  const { header } = await readModelHeader(path);
  try {
    return readCompressedLayout(header);
  } catch (e) {
    throw addContext(e, path);
  }
}

export async function cmdPlan(args: string[], flags: Map<string, string | true>, io: Io): Promise<number> {
  if (args.length !== 1) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'expected MODEL (a compressed .safetensors file or directory)');
  const [path] = args;
  const options = { slots: count(flags, '--slots'), workspaceBytes: count(flags, '--workspace-bytes') };
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    // readModelHeader reports the missing file
  }
  const layouts: CompressedLayout[] = [];
  if (isDir) {
    const files = await listSafetensors(path);
    if (files.length === 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `${path} holds no .safetensors files`);
    for (const f of files) layouts.push(await layoutOf(join(path, f)));
  } else layouts.push(await layoutOf(path));
  const report = planMemory(layouts, options);
  if (flags.has('--json')) io.stdout(JSON.stringify({ command: 'plan', input: path, ...report }) + '\n');
  else io.stdout(`${path}: ${formatMemoryReport(report)}\n`);
  return 0;
}
