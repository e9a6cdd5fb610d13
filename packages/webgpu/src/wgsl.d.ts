/** `.wgsl?raw` imports: the shader source as a string (vite/vitest natively; tsup through tsup.config.ts). */
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
