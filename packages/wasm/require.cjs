// @ecf8/wasm is an ES module (with types); CommonJS require() gets this one-line explanation instead of a resolution error.
const message = '@ecf8/wasm is an ES module: load it with import, or with await import("@ecf8/wasm") from CommonJS (require() is not supported)';
const error = new Error(message);
error.code = 'ERR_REQUIRE_ESM';
error.stack = `Error [ERR_REQUIRE_ESM]: ${message}`;
throw error;
