// Types of binaries.generated.js, which scripts/build.mjs writes (npm run build -w @ecf8/wasm).
/** The module compiled with WebAssembly SIMD, base64. */
export declare const SIMD_WASM_BASE64: string;
/** The module compiled without SIMD, base64. */
export declare const BASELINE_WASM_BASE64: string;
