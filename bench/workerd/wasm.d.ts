// A bundled .wasm import is a compiled module in workerd (bench/workerd/worker.ts).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
