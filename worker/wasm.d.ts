// Wasm imports arrive as compiled modules in Workers (wrangler's CompiledWasm rule).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
