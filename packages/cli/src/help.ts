/**
 * Per-command help (`ecf8 <command> --help`, `ecf8 help <command>`): what the command does, its options and one
 * example. The global usage (`ecf8 --help`) lists the commands; this file holds the details of each.
 */

const COMMON = `common options:
  --json        machine-readable output on stdout
  --quiet       print nothing on success (errors still go to stderr)
  -h, --help    this text`;

const PROGRESS = `  --progress, --no-progress   force / hide the progress bar (default: shown when stderr is a terminal)`;

export const COMMAND_HELP: Record<string, string> = {
  encode: `usage: ecf8 encode IN.fp8 OUT.ecf8 [options]

Compresses raw FP8 E4M3 bytes (one byte per element) into one ECF8 stream. Deterministic: the same input and T
always give the same bytes.

options:
  -t, --threads-per-block T   threads per GPU block of the stream (a power of two, 32..1024; default 512)
  --force                     replace OUT if it exists

${COMMON}

example:
  ecf8 encode weights.fp8 weights.ecf8`,

  decode: `usage: ecf8 decode IN.ecf8 OUT.fp8 [options]

Decompresses one raw ECF8 stream back to its FP8 E4M3 bytes, bit for bit. IN must be a raw stream (it starts
with the bytes "ECF8"); for an ECF8-compressed .safetensors file use \`ecf8 decompress\`.

options:
  --backend NAME              decoder to use (see \`ecf8 backends\`; default: cpu-wasm, else cpu-fast)
  --max-output-bytes N        refuse streams that would decode to more than N bytes (ECF8_LIMIT_EXCEEDED)
  --no-verify                 skip the CRC-32C checks (structure is still checked)
  --force                     replace OUT if it exists

${COMMON}

example:
  ecf8 decode weights.ecf8 weights.fp8 --backend cpu-workers`,

  inspect: `usage: ecf8 inspect FILE [options]

Describes FILE and says which kind it is: a raw ECF8 stream (header, code, decode tables, entropy, size against
the Shannon bound), a safetensors file or checkpoint directory (per-tensor entropy and ECF8 size, compressed or
not), or raw FP8 bytes (what ECF8 would make of them).

options:
  --plot OUT.svg              (safetensors) also draw exponent histograms and sizes as an SVG
  -t, --threads-per-block T   (safetensors) T used to predict the sizes of uncompressed tensors
${PROGRESS}

${COMMON}

example:
  ecf8 inspect model.safetensors --plot exponents.svg`,

  backends: `usage: ecf8 backends [--json]

Lists the decoding backends (CPU, worker threads, WebGPU, CUDA), their priorities, and whether each can run here
(with the reason when it cannot).

${COMMON}

example:
  ecf8 backends --json`,

  demo: `usage: ecf8 demo [FILE] [--json]

Compresses, verifies and restores the bundled FP8 checkpoint (or FILE.safetensors; a raw FP8 FILE is encoded and
decoded as one stream) in a temporary directory, then prints the sizes, the ratio to the entropy bound and whether
the restored bytes are identical. Writes nothing outside the temporary directory.

${COMMON}

example:
  ecf8 demo`,

  compress: `usage: ecf8 compress IN OUT [options]

Compresses a model file: every F8_E4M3 tensor of IN (a .safetensors file, or a directory holding a sharded
checkpoint) becomes an ECF8 stream, every other tensor and file is copied, and OUT is itself a valid safetensors
file (or directory, with its index rewritten) that \`ecf8 decompress\` restores byte for byte.

options:
  -t, --threads-per-block T   threads per GPU block of the streams (default 512)
  --force                     replace OUT if it exists
${PROGRESS}

${COMMON}

example:
  ecf8 compress model.safetensors model.ecf8.safetensors`,

  decompress: `usage: ecf8 decompress IN OUT [options]

Restores the original model file(s) from an ECF8-compressed safetensors file or directory, byte for byte; the
SHA-256 of the original recorded by \`compress\` is checked before OUT is put in place.

options:
  --backend NAME              decoder for the streams (see \`ecf8 backends\`)
  --force                     replace OUT if it exists
${PROGRESS}

${COMMON}

example:
  ecf8 decompress model.ecf8.safetensors model.restored.safetensors`,

  verify: `usage: ecf8 verify FILE [options]

Checks FILE without writing anything and says which kind it is: for an ECF8-compressed safetensors file or
directory, every stream's structure and CRC-32C checksums and the recorded SHA-256 of the original; for a raw ECF8
stream, its structure and checksums. Exit status 1 with one line \`ecf8: <CODE>: <message>\` when it is invalid.

options:
  --backend NAME              decoder for the streams (see \`ecf8 backends\`)
${PROGRESS}

${COMMON}

example:
  ecf8 verify model.ecf8.safetensors`,

  'import-official': `usage: ecf8 import-official IN OUT [options]

Converts a checkpoint in the paper authors' ECF8 buffer layout (per module: luts, encoded exponents, gaps,
output positions, sign/mantissa) into an F8_E4M3 safetensors file, bit-exact, written ECF8-compressed.

options:
  --pattern-dict FILE         the authors' pattern dictionary (JSON), naming each module's layers (default: the
                              file's metadata, else pattern_dict.json next to IN; a one-tensor module needs none)
  --shapes FILE               tensor shapes: a JSON file {name: [dims]} or the original FP8 safetensors file
                              (default: the file's ecf8.shapes metadata, else one-dimensional)
  --official-threads-per-block T
                              threads per block the official buffers were made with (default: dfloat_config)
  -t, --threads-per-block T   T of the ECF8 streams written
  --plain                     write plain FP8 tensors instead of ECF8 streams
  --force                     replace OUT if it exists
${PROGRESS}

${COMMON}

example:
  ecf8 import-official official.safetensors model.ecf8.safetensors --pattern-dict pattern_dict.json`,

  'export-official': `usage: ecf8 export-official IN OUT [options]

Writes the ECF8 streams of IN as the paper authors' buffer layout (no re-encoding), each module checked with an
emulation of the official decoder.

options:
  -t, --threads-per-block T   threads per block of the official buffers
  --no-check                  skip the emulated official decode of every module
  --diffsynth                 write dfloat_config.json (the DiffSynth layout) instead of config.json
  --force                     replace OUT and the side files (config.json, pattern_dict.json) if they exist
${PROGRESS}

${COMMON}

example:
  ecf8 export-official model.ecf8.safetensors official.safetensors`,

  plan: `usage: ecf8 plan MODEL [options]

Prints the memory a compressed model takes when @ecf8/runtime keeps it compressed and decodes each FP8 tensor into
one shared workspace just before use: resident compressed bytes, other tensors, workspace, against the plain FP8
model. MODEL is an ECF8-compressed safetensors file or checkpoint directory; only headers are read.

options:
  --slots N                   workspace slots (2 = decode the next tensor while the current one is used; default 1)
  --workspace-bytes N         bytes per slot (default: the largest FP8 tensor)

${COMMON}

example:
  ecf8 plan model.ecf8.safetensors --slots 2`,
};

/** Help text of `command`, or undefined when there is no such command. */
export function commandHelp(command: string): string | undefined {
  return Object.hasOwn(COMMAND_HELP, command) ? COMMAND_HELP[command] : undefined;
}
