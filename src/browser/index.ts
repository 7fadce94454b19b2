// wasmtrace/browser: init() with the page instrumentations (document load,
// resources, fetch, XHR, interactions, navigations, errors, web vitals, long
// tasks, session.id). The core entry (`wasmtrace`) stays without them.
import type { BrowserInitOptions } from './types.js';
import type { Tracer } from '../tracer.js';
import { startBrowser } from './start.js';

/**
 * Loads the Wasm module from beside this file (or `options.wasm`), starts
 * every instrumentation not set to `false` in `options.instrumentations`,
 * and returns the tracer. Never rejects: without Wasm it warns once and
 * resolves to a tracer that records nothing, with nothing instrumented.
 * A page starts once: a later call (or a call beside the script tag)
 * returns the first start-up's promise, whatever its options.
 */
export function init(options: BrowserInitOptions): Promise<Tracer> {
  // Each URL with one string literal: the form Vite and webpack 5 find and emit as an asset.
  return startBrowser(options, (json) => (json ? new URL('./wasmtrace-json.wasm', import.meta.url) : new URL('./wasmtrace.wasm', import.meta.url)));
}

export type { BrowserInitOptions, InstrumentationOptions } from './types.js';
// Everything else is the core entry's; this `init` shadows its `init`.
export * from '../index.js';
