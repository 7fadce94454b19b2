// Per span in Chromium: start + 3 attributes + end + protobuf encode, wasmtrace
// (init() from src/index.ts, the Wasm fetched as the page would) against the
// OpenTelemetry JS SDK (BatchSpanProcessor + ProtobufTraceSerializer), both
// bundled into the same page (bench/pages/span.mjs), interleaved rounds, with
// the real clock and with the clock replaced by a counter in both.
import { readFileSync } from 'node:fs';
import { figure } from './lib/figure.mjs';
import { interleave } from './lib/interleave.mjs';
import { OTEL_NAME } from './lib/otel.mjs';
import { bundlePage, launch } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';

export async function run({ smoke = false } = {}) {
  const batches = smoke ? 1 : 40;
  const rounds = smoke ? 2 : 15;
  const warmup = smoke ? 0 : 2;
  const server = await serve({
    '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>span bench</title><script type="module" src="/bench.js"></script>' },
    '/bench.js': { type: 'text/javascript', body: await bundlePage(new URL('pages/span.mjs', import.meta.url)) },
    '/wasmtrace.wasm': { type: 'application/wasm', body: readFileSync(new URL('wasmtrace.wasm', dist)) },
  });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => window.bench !== undefined, null, { timeout: 30_000 });
    await page.evaluate(() => window.bench.setup());
    const cases = {
      wasmtrace: () => page.evaluate((n) => window.bench.round('wasmtrace', n), batches),
      otel: () => page.evaluate((n) => window.bench.round('otel', n), batches),
    };
    const real = await interleave(cases, { rounds, warmup });
    await page.evaluate(() => window.bench.fakeClock(true));
    const fake = await interleave(cases, { rounds, warmup });
    await page.evaluate(() => window.bench.fakeClock(false));
    const clock = [];
    for (let r = 0; r < Math.min(rounds, 5); r++) clock.push(await page.evaluate((n) => window.bench.clock(n), smoke ? 50_000 : 200_000));
    if (errors.length) throw errors[0];
    const note = `${batches * 512} spans/round, flush every 512, Chromium ${browser.version()}`;
    return [
      figure({ name: 'per span, Chromium, real clock', unit: 'ns/span', ours: real.wasmtrace, theirs: real.otel, rivalName: OTEL_NAME, note }),
      figure({ name: 'per span, Chromium, clock = counter', unit: 'ns/span', ours: fake.wasmtrace, theirs: fake.otel, rivalName: OTEL_NAME, note }),
      figure({ name: 'two performance.now() reads, Chromium (clock floor of both)', unit: 'ns/span', ours: clock }),
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}
