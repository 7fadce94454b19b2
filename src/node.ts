// The Node.js entry: the same API, with the Wasm read from beside this file,
// OTEL_* settings read from process.env, and the active span and baggage kept
// in AsyncLocalStorage, so they hold across awaits, timers and promise chains.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile } from 'node:fs/promises';
import { gzip as zlibGzip } from 'node:zlib';
import { useAsyncContext } from './context.js';
import { initWith, type InitOptions } from './init.js';
import type { Tracer } from './tracer.js';

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

/** Tracers not shut down yet: flushed when the event loop empties. */
const live = new Set<Tracer>();
/**
 * Flushes at exit, at most. Each flush's request makes Node empty its loop
 * (and emit 'beforeExit') again; without a bound, a collector that rejects
 * (the rejection is reported as a span) or an app whose own 'beforeExit'
 * ends a span each time would keep the process alive forever.
 */
const EXIT_ROUNDS = 3;
let exitRounds = 0;

/**
 * A script or job that ends without calling shutdown(): Node exits when its
 * event loop empties (delivery's timers do not hold it open), so what is
 * still waiting is flushed then, on 'beforeExit'. The flush's request keeps
 * the process alive until it is answered, and spans ended meanwhile leave in
 * the next round (up to EXIT_ROUNDS); a batch that fails then is lost (Node
 * has no storage), as at any exit.
 */
function flushAtExit(tracer: Tracer): Tracer {
  if (live.size === 0) process.on('beforeExit', flushLive);
  live.add(tracer);
  const shutdown = tracer.shutdown;
  tracer.shutdown = () => {
    live.delete(tracer);
    if (live.size === 0) process.off('beforeExit', flushLive);
    return shutdown();
  };
  return tracer;
}

function flushLive(): void {
  if (exitRounds++ < EXIT_ROUNDS) for (const t of live) void t.flush();
}

/** Loads the Wasm module (from dist/, or `options.wasm`) and returns a tracer; never rejects. */
export async function init(options: InitOptions): Promise<Tracer> {
  const tracer = await initWith(
    {
      language: 'nodejs',
      defaultWasm: (json) => readFile(json ? new URL('./wasmtrace-json.wasm', import.meta.url) : new URL('./wasmtrace.wasm', import.meta.url)),
      gzip,
    },
    { env: process.env, ...options },
  );
  return flushAtExit(tracer);
}

// Everything else is the core entry's; this `init` shadows its `init`.
export * from './index.js';
