// Per span in Chromium: start + 3 attributes + end + protobuf encode, wasmtrace
// (init() from src/index.ts, the Wasm fetched as the page would) against the
// OpenTelemetry JS SDK (BatchSpanProcessor + ProtobufTraceSerializer), both
// bundled into the same page (bench/pages/span.mjs), interleaved rounds, with
// the real clock and with the clock replaced by a counter in both.
import { readFileSync } from 'node:fs';
import { spanPageFigures } from './lib/span-page.mjs';
import { bundlePage, launch } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';

export async function run({ smoke = false } = {}) {
  const server = await serve({
    '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>span bench</title><script type="module" src="/bench.js"></script>' },
    '/bench.js': { type: 'text/javascript', body: await bundlePage(new URL('pages/span.mjs', import.meta.url)) },
    '/wasmtrace.wasm': { type: 'application/wasm', body: readFileSync(new URL('wasmtrace.wasm', dist)) },
  });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    return await spanPageFigures(page, `${server.origin}/`, {
      browserName: 'Chromium', note: `Chromium ${browser.version()}`, smoke,
      waitFor: (fn) => page.waitForFunction(fn, null, { timeout: 30_000 }),
    });
  } finally {
    await browser.close();
    await server.close();
  }
}
