/** @module pipeline/wasm-init — load parquet-wasm from bytes embedded in the executable. */
import { initSync } from "parquet-wasm/esm";
// `type: "file"` embeds the wasm in `bun build --compile` output (https://bun.sh/docs/bundler/executables, embedding files).
import wasmPath from "parquet-wasm/esm/parquet_wasm_bg.wasm" with { type: "file" };

let ready = false;

export async function initParquetWasm(): Promise<void> {
  if (ready) return;
  initSync({ module: await Bun.file(wasmPath).arrayBuffer() });
  ready = true;
}
