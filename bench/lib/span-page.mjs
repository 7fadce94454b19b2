// The per-span rounds both browser benchmarks run on bench/pages/span.mjs
// (browser-span in Chromium, firefox-span in Firefox ESR): both SDKs in one
// page, interleaved rounds with the real clock and with a counter, then the
// clock floor. `page` is a playwright or puppeteer page (the same evaluate).
import { figure } from './figure.mjs';
import { interleave } from './interleave.mjs';
import { OTEL_NAME } from './otel.mjs';

/** Figures for `browserName` once the page at `url` is loaded in `page`; `note` ends the figures' note. */
export async function spanPageFigures(page, url, { browserName, note, smoke, waitFor }) {
  const batches = smoke ? 1 : 40;
  const rounds = smoke ? 2 : 15;
  const warmup = smoke ? 0 : 2;
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(url);
  await waitFor(() => window.bench !== undefined);
  await page.evaluate(() => window.bench.setup());
  const cases = {
    wasmtrace: () => page.evaluate((n) => window.bench.round('wasmtrace', n), batches),
    otel: () => page.evaluate((n) => window.bench.round('otel', n), batches),
  };
  const real = await interleave(cases, { rounds, warmup });
  await page.evaluate(() => window.bench.fakeClock(true));
  const fake = await interleave(cases, { rounds, warmup });
  // With a page's defaults for a same-origin collector (localStorage write-ahead, gzip), against the same OTel.
  const paged = await interleave(
    { wasmtrace: () => page.evaluate((n) => window.bench.round('defaults', n), batches), otel: cases.otel },
    { rounds: Math.min(rounds, 9), warmup },
  );
  await page.evaluate(() => window.bench.fakeClock(false));
  const clock = [];
  for (let r = 0; r < Math.min(rounds, 5); r++) clock.push(await page.evaluate((n) => window.bench.clock(n), smoke ? 50_000 : 200_000));
  if (errors.length) throw errors[0];
  const full = `${batches * 512} spans/round, flush every 512, ${note}`;
  return [
    figure({ name: `per span, ${browserName}, real clock`, unit: 'ns/span', ours: real.wasmtrace, theirs: real.otel, rivalName: OTEL_NAME, note: full }),
    figure({ name: `per span, ${browserName}, clock = counter`, unit: 'ns/span', ours: fake.wasmtrace, theirs: fake.otel, rivalName: OTEL_NAME, note: full }),
    figure({
      name: `per span, ${browserName}, clock = counter, wasmtrace with localStorage + gzip`, unit: 'ns/span', ours: paged.wasmtrace, theirs: paged.otel, rivalName: OTEL_NAME,
      note: `${full}; wasmtrace as a page has it for a same-origin collector (write-ahead to localStorage, gzip through CompressionStream), OTel as before (no storage, no compression)`,
    }),
    figure({ name: `two performance.now() reads, ${browserName} (clock floor of both)`, unit: 'ns/span', ours: clock }),
  ];
}
