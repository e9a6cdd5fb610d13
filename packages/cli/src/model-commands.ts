/**
 * Model-file commands (safetensors compress/decompress/verify/inspect, official-layout import/export). Each entry
 * receives the positional arguments after the command name, the parsed flags, and the output streams, and returns
 * the exit code; errors are thrown as Ecf8Error and reported by `main`.
 */
import type { Io } from './commands.js';

export type ModelCommand = (args: string[], flags: Map<string, string | true>, io: Io) => Promise<number>;

/** Commands by name; `main` dispatches any command not built in to this table. */
export const modelCommands: Record<string, ModelCommand> = {};

/** Handles `ecf8 inspect FILE` for model files (e.g. `.safetensors`); returns undefined when FILE is not one. */
export let inspectModelFile: ((path: string, flags: Map<string, string | true>, io: Io) => Promise<number | undefined>) | undefined;

export function setInspectModelFile(fn: typeof inspectModelFile): void {
  inspectModelFile = fn;
}
