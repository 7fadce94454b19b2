// The part of a page's start-up that runs in the calling task, before the
// rest of the SDK is even evaluated (the script tag evaluates the rest after
// the first paint): the pagehide listener that must come before delivery's
// own, and the Wasm fetch and compile, started in the first task after the
// first paint — a page's first fetch() call costs several ms of main thread
// in Chromium (7 ms measured here), which would land in the long frame of
// the page's first render.
import type { BrowserInitOptions } from './types.js';
import type { WasmSource } from '../wasm.js';
import { FIRST_PAINT_WAIT_MS, afterPaint } from './schedule.js';
import { listen } from './util.js';

/** What `resumeBrowser` (start.ts) goes on from. */
export interface Prepared {
  readonly opts: BrowserInitOptions;
  readonly defaultWasm: (json: boolean) => WasmSource;
  /** Run at pagehide, before delivery's listener: spans still open end first. */
  readonly onUnload: Array<() => void>;
  readonly wasm: WasmSource;
  /** Resolves in the first task after the page's first paint (one wait shared by every step). */
  readonly painted: Promise<void>;
  /** The compiled module, or what init() should load itself. */
  readonly compiled: Promise<WasmSource>;
}

/** Adds the pagehide listener; the Wasm is fetched and compiled from the first task after the first paint. */
export function prepareBrowser(opts: BrowserInitOptions, defaultWasm: (json: boolean) => WasmSource): Prepared {
  const onUnload: Array<() => void> = [];
  listen(window, 'pagehide', () => {
    for (const fn of onUnload) fn();
  });
  const wasm = opts.wasm ?? defaultWasm(opts.protocol === 'http/json');
  const painted = afterPaint(FIRST_PAINT_WAIT_MS);
  return { opts, defaultWasm, onUnload, wasm, painted, compiled: painted.then(() => precompile(wasm)) };
}

/**
 * Starts fetching and compiling a Wasm URL now, so the download and the
 * (off-main-thread) compile overlap the rest of start-up. Resolves to the
 * module, or to what init() should load itself when this fails (it then
 * fails there too, and warns as usual: a CSP refusal, a 404).
 */
function precompile(wasm: WasmSource): Promise<WasmSource> {
  if (!(typeof wasm === 'string' || wasm instanceof URL) || typeof WebAssembly.compileStreaming !== 'function') return Promise.resolve(wasm);
  return fetch(wasm).then(
    (res): WasmSource | Promise<WasmSource> =>
      res.ok && res.headers.get('content-type') === 'application/wasm'
        ? WebAssembly.compileStreaming(res.clone()).catch(() => res)
        : res,
    () => wasm,
  );
}
