/**
 * Optional decoding backends: each package registers itself with @ecf8/core when imported. Missing packages are
 * not errors; their reasons are reported when the user asks for that backend.
 */
const OPTIONAL_BACKEND_PACKAGES = ['@ecf8/fast', '@ecf8/wasm', '@ecf8/webgpu', '@ecf8/cuda'];

export const backendLoadErrors = new Map<string, string>();

let loaded: Promise<void> | undefined;

export function loadOptionalBackends(): Promise<void> {
  loaded ??= (async () => {
    for (const name of OPTIONAL_BACKEND_PACKAGES) {
      try {
        await import(/* @vite-ignore */ name);
      } catch (e) {
        backendLoadErrors.set(name, (e as Error).message.split('\n')[0]);
      }
    }
  })();
  return loaded;
}
