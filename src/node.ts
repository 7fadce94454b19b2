// The Node.js entry: the same API, with the Wasm read from beside this file
// and OTEL_* settings read from process.env.
import { readFile } from 'node:fs/promises';
import { initWith, type InitOptions } from './init.js';
import type { Tracer } from './tracer.js';

/** Loads the Wasm module (from dist/, or `options.wasm`) and returns a tracer; never rejects. */
export function init(options: InitOptions): Promise<Tracer> {
  return initWith(
    {
      language: 'nodejs',
      defaultWasm: (json) => readFile(new URL(json ? './wasmtrace-json.wasm' : './wasmtrace.wasm', import.meta.url)),
    },
    { env: process.env, ...options },
  );
}

// Everything else is the core entry's; this `init` shadows its `init`.
export * from './index.js';
