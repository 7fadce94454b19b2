// The Node.js entry: the same API, with the Wasm read from beside this file,
// OTEL_* settings read from process.env, and the active span and baggage kept
// in AsyncLocalStorage, so they hold across awaits, timers and promise chains.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { gzip as zlibGzip } from 'node:zlib';
import { useAsyncContext } from './context.js';
import { VERSION } from './version.js';
import { initWith, type InitOptions } from './init.js';
import type { FinalFlush, Tracer } from './tracer.js';

useAsyncContext(new AsyncLocalStorage());

/**
 * gzip on libuv's thread pool, at level 1: for these repetitive bodies 0.3 %
 * larger than level 6, and 2-3x faster than CompressionStream in Node
 * (which also spends its stream machinery on the main thread).
 */
function gzip(bytes: Uint8Array): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    try {
      zlibGzip(bytes, { level: 1 }, (err, out) => resolve(err ? null : new Uint8Array(out.buffer, out.byteOffset, out.length)));
    } catch {
      resolve(null);
    }
  });
}

/**
 * Tracers not shut down yet: flushed when the event loop empties. Held
 * weakly: a tracer the app dropped is collected (with its Wasm memory), and
 * its entry with it. One with spans waiting is held by its delivery's
 * timers until they leave (src/init.ts).
 */
const live = new Set<WeakRef<Tracer>>();
const collected = new FinalizationRegistry<WeakRef<Tracer>>(forget);
/**
 * Flushes at exit, at most. Each flush's request makes Node empty its loop
 * (and emit 'beforeExit') again; without a bound, a collector that rejects
 * (the rejection is reported as a span) or an app whose own 'beforeExit'
 * ends a span each time would keep the process alive forever.
 */
const EXIT_ROUNDS = 3;
let exitRounds = 0;
/**
 * How long the flushes at exit may take, ms, from the first: a collector that
 * accepts the connection and never answers would otherwise hold the process
 * for the request timeout (11 s by default). Requests still open then are
 * aborted, and their spans lost.
 */
const EXIT_BUDGET_MS = 2000;
/** Aborted once the exit budget has passed; made at the first flush at exit. */
let exiting: AbortController | undefined;

/**
 * A script or job that ends without calling shutdown(): Node exits when its
 * event loop empties (delivery's timers do not hold it open), so what is
 * still waiting is flushed then, on 'beforeExit'. The flush's request keeps
 * the process alive until it is answered, and spans ended meanwhile leave in
 * the next round (up to EXIT_ROUNDS), and so does a batch that failed fast
 * (a 503), at exit or before, rather than wait for its retry timer (unref'd:
 * the exit does not wait for it); one that still fails then is lost (Node
 * has no storage), as at any exit.
 */
function flushAtExit(tracer: Tracer): Tracer {
  if (live.size === 0) process.on('beforeExit', flushLive);
  const ref = new WeakRef(tracer);
  live.add(ref);
  collected.register(tracer, ref, ref);
  const shutdown = tracer.shutdown;
  tracer.shutdown = () => {
    collected.unregister(ref);
    forget(ref);
    return shutdown();
  };
  return tracer;
}

/** Takes a tracer (shut down, or collected) off the list; the last one takes the listener off too. */
function forget(ref: WeakRef<Tracer>): void {
  live.delete(ref);
  if (live.size === 0) process.off('beforeExit', flushLive);
}

/**
 * A request's abort signal: its timeout's, and from the first flush at exit
 * the exit budget's too.
 */
function exitSignal(timeout: AbortSignal | undefined): AbortSignal | undefined {
  if (!exiting || !timeout) return exiting?.signal ?? timeout;
  if (AbortSignal.any) return AbortSignal.any([timeout, exiting.signal]);
  // Node 20.0-20.2 (no AbortSignal.any): a signal of our own that either aborts.
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  for (const s of [timeout, exiting.signal]) s.aborted ? abort() : s.addEventListener('abort', abort, { once: true });
  return ac.signal;
}

function flushLive(): void {
  if (exitRounds++ >= EXIT_ROUNDS) return;
  if (!exiting) {
    const ac = (exiting = new AbortController());
    // The requests hold the process, not this timer. If it fires, the app
    // kept the process going after all (a 'beforeExit' listener started more
    // work): the exit did not happen, and the next one has its own budget
    // and rounds, so the app's later exports are not cut short.
    setTimeout(() => {
      ac.abort();
      exiting = undefined;
      exitRounds = 0;
    }, EXIT_BUDGET_MS).unref();
  }
  for (const ref of live) {
    const t = ref.deref() as (Tracer & Partial<FinalFlush>) | undefined;
    void (t?._final ? t._final() : t?.flush()); // a no-op tracer (disabled, no Wasm) has no _final
  }
}

/**
 * A `wasm` given as a URL or a path, loaded when init() gets to it: a file:
 * URL (the natural one in Node, where fetch has none) or a string that is no
 * URL (a file path, relative to the working directory) read from disk, any
 * other URL fetched. A failure names it: the warning says what did not load.
 */
async function load(url: string | URL): Promise<Response | Uint8Array> {
  try {
    if (typeof url === 'string' && !URL.canParse(url)) return await readFile(url);
    const u = new URL(url);
    return await (u.protocol === 'file:' ? readFile(u) : fetch(u));
  } catch (e) {
    throw new Error(`loading ${String(url)} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * `options` less a `wasm` URL (the same object seen through one with `wasm`
 * unset: inherited options and getters stay), and the URL; options that
 * throw when read go on as given (initWith contains that).
 */
function takeUrl(options: InitOptions): [InitOptions, string | URL | undefined] {
  try {
    const { wasm } = options;
    if (typeof wasm === 'string' || wasm instanceof URL) return [Object.create(options, { wasm: { value: undefined } }) as InitOptions, wasm];
  } catch {
    // null, or a hostile object
  }
  return [options, undefined];
}

/** Loads the Wasm module (from dist/, or `options.wasm`) and returns a tracer; never rejects. */
export async function init(options: InitOptions): Promise<Tracer> {
  const [opts, url] = takeUrl(options);
  const tracer = await initWith(
    {
      language: 'nodejs',
      // A URL given is loaded in place of the default: when init() needs the module (a disabled tracer loads none).
      defaultWasm: (json) => (url ? load(url) : readFile(json ? new URL('./wasmtrace-json.wasm', import.meta.url) : new URL('./wasmtrace.wasm', import.meta.url))),
      gzip,
      signal: exitSignal,
      pageless: true,
      env: process.env,
      unknownService: `unknown_service:${basename(process.execPath)}`,
      userAgent: `wasmtrace/${VERSION} (Node.js ${process.version})`,
    },
    opts,
  );
  return flushAtExit(tracer);
}

// Everything else is the core entry's; this `init` shadows its `init`.
export * from './index.js';
