// Page-load main-thread cost in Chromium: the same page loaded without an SDK,
// with wasmtrace and with OpenTelemetry JS (each with document-load, fetch,
// XHR and user-interaction instrumentation — OTel with ZoneContextManager, as
// its docs set it up — starting up, and the page's own script recording one
// span and flushing it to a local endpoint). Each sample is a fresh browser
// context (cold HTTP cache, empty storage). The page's one span and flush
// run in a task of the page's own script (registered before OTel's zone.js
// patches listeners and timers), so a trace counts them for neither SDK;
// what they leave for later (the export's continuations) is the SDK's.
// Everything is read SETTLE_MS
// after the page's load handler has flushed, so that work either SDK leaves
// for after the load (documentLoad spans, idle-time start-up) is counted too.
//
// Two views:
// - the SDK's own main-thread time, from a Chrome trace of each load (CDP
//   Tracing): every slice the trace attributes to the SDK's script — its
//   evaluation, its callbacks and the microtasks they leave, its Wasm
//   compile and instantiation — per task without double counting nested
//   ones (scriptMainThread in lib/chromium.mjs), in the main thread's CPU
//   time and in wall time; and the largest share of a single task. Ours and
//   OTel's loads alternate.
// - A/B: the CDP Performance domain's cumulative ScriptDuration and
//   TaskDuration of the page minus the bare page's median (the three pages
//   alternate). Coarse: on a shared machine the difference is mostly noise.
import { existsSync, readFileSync } from 'node:fs';
import { figure, median, spread } from './lib/figure.mjs';
import { interleave } from './lib/interleave.mjs';
import { MAIN_THREAD_CATEGORIES, bundlePage, launch, scriptMainThread, traced } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';
import { packageVersions } from './lib/machine.mjs';

/** Wait after the page's flush before reading the metrics, ms. */
const SETTLE_MS = 1500;
const items = Array.from({ length: 200 }, (_, i) => `<li>item ${i}</li>`).join('');
const html = (script) => `<!doctype html><meta charset="utf-8"><title>load</title><ul>${items}</ul>${script}`;

export async function run({ smoke = false } = {}) {
  const rounds = smoke ? 2 : Number(process.env.PAGELOAD_ROUNDS ?? 21);
  const traceRounds = smoke ? 1 : Number(process.env.PAGELOAD_TRACE_ROUNDS ?? 11);
  const pages = new URL('pages/', import.meta.url);
  const wasm = readFileSync(new URL('wasmtrace.wasm', dist));
  // The script-tag build is what a page would use; until it exists, init() from the package entry.
  const scriptTag = existsSync(new URL('wasmtrace.js', dist));
  const files = {
    '/none.js': { type: 'text/javascript', body: await bundlePage(new URL('load-none.mjs', pages)) },
    '/otel.js': { type: 'text/javascript', body: await bundlePage(new URL('load-otel.mjs', pages)) },
    '/wasmtrace.wasm': { type: 'application/wasm', body: wasm },
    '/none': { type: 'text/html', body: html('<script type="module" src="/none.js"></script>') },
    '/otel': {
      type: 'text/html',
      body: html(`<script type="module" src="/otel.js"></script>
<script>addEventListener('load', async () => { const p = window.otelProvider;
p.getTracer('page').startSpan('page.work', { attributes: { 'page.items': document.querySelectorAll('li').length } }).end();
await p.forceFlush(); window.benchDone = true; });</script>`),
    },
  };
  if (scriptTag) {
    files['/wasmtrace.js'] = { type: 'text/javascript', body: readFileSync(new URL('wasmtrace.js', dist)) };
    files['/wasmtrace'] = {
      type: 'text/html',
      body: html(`<script src="/wasmtrace.js" data-service-name="page" data-endpoint="/v1/traces"></script>
<script>addEventListener('load', async () => { const t = await window.wasmtrace.ready;
await new Promise((r) => setTimeout(r, 0)); // the page's own task, as the OTel page's load handler is
t.startSpan('page.work', { attributes: { 'page.items': document.querySelectorAll('li').length } }).end();
await t.flush(); window.benchDone = true; });</script>`),
    };
  } else {
    files['/wasmtrace.js'] = { type: 'text/javascript', body: await bundlePage(new URL('load-wasmtrace.mjs', pages)) };
    files['/wasmtrace'] = { type: 'text/html', body: html('<script type="module" src="/wasmtrace.js"></script>') };
  }
  const server = await serve(files);
  const browser = await launch();
  const sample = async (path) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      await page.goto(`${server.origin}${path}`);
      await page.waitForFunction(() => window.benchDone === true, null, { timeout: 30_000 });
      await page.waitForTimeout(SETTLE_MS);
      const { metrics } = await cdp.send('Performance.getMetrics');
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      return { script: m.ScriptDuration * 1000, task: m.TaskDuration * 1000 };
    } finally {
      await context.close();
    }
  };
  /** One traced cold load of `path`: the main-thread time of `script` (see scriptMainThread). */
  const traceSample = async (path, script) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const { events } = await traced(browser, MAIN_THREAD_CATEGORIES, async () => {
        await page.goto(`${server.origin}${path}`);
        await page.waitForFunction(() => window.benchDone === true, null, { timeout: 30_000 });
        await page.waitForTimeout(SETTLE_MS);
      });
      // The bench pages' own script awaits nothing after its flush but a
      // flag: promise reactions no URL names are the SDK's (its export).
      return scriptMainThread(events, `${server.origin}${script}`, { orphanMicrotasks: true });
    } finally {
      await context.close();
    }
  };
  try {
    const tr = await interleave(
      { wasmtrace: () => traceSample('/wasmtrace', '/wasmtrace.js'), otel: () => traceSample('/otel', '/otel.js') },
      { rounds: traceRounds, warmup: smoke ? 0 : 1 },
    );
    const raw = { none: [], wasmtrace: [], otel: [] };
    await interleave(
      {
        none: async () => (raw.none.push(await sample('/none')), 0),
        wasmtrace: async () => (raw.wasmtrace.push(await sample('/wasmtrace')), 0),
        otel: async () => (raw.otel.push(await sample('/otel')), 0),
      },
      { rounds, warmup: 1 },
    );
    const v = packageVersions(['@opentelemetry/sdk-trace-web', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/context-zone', '@opentelemetry/instrumentation-document-load', '@opentelemetry/instrumentation-fetch', '@opentelemetry/instrumentation-user-interaction']);
    const rivalName = `OTel web ${v['@opentelemetry/sdk-trace-web']}: WebTracerProvider + BatchSpanProcessor + OTLP/HTTP exporter ${v['@opentelemetry/exporter-trace-otlp-http']} + ZoneContextManager ${v['@opentelemetry/context-zone']}, instrumentations document-load ${v['@opentelemetry/instrumentation-document-load']}, fetch, XHR ${v['@opentelemetry/instrumentation-fetch']}, user-interaction ${v['@opentelemetry/instrumentation-user-interaction']}`;
    const what = scriptTag ? 'dist/wasmtrace.js (script tag)' : 'init() from src/index.ts (script-tag build not there yet)';
    const fig = (key, label) => {
      const base = median(raw.none.map((s) => s[key]));
      const ours = raw.wasmtrace.map((s) => s[key] - base);
      const theirs = raw.otel.map((s) => s[key] - base);
      // A difference of medians can fall below zero in the noise of a shared
      // machine (and in a one-round smoke run): report it as 0.01 ms, "within noise".
      const floor = (x) => (x > 0.01 ? x : 0.01);
      const w = floor(median(ours));
      const r = floor(median(theirs));
      return {
        name: `page-load main-thread cost, Chromium, ${label}`, unit: 'ms', wasmtrace: w, rival: r, rivalName,
        ratio: r / w, better: 'lower', rounds,
        spread: { wasmtrace: spread(raw.wasmtrace.map((s) => s[key])), rival: spread(raw.otel.map((s) => s[key])) },
        note: `${what}; CDP Performance.getMetrics ${label} minus the bare page's (${base.toFixed(1)} ms); fresh context per load`,
      };
    };
    const med = (side, f) => median(tr[side].map(f));
    const longLoads = (side) => tr[side].filter((r) => r.wall.longestMs > 50).length;
    const traceNote = `${what}; ${traceRounds} traced cold loads each, alternating; trace categories ${MAIN_THREAD_CATEGORIES.join(', ')}; ` +
      `tasks touched (median) ${med('wasmtrace', (r) => r.tasks)} vs ${med('otel', (r) => r.tasks)}; ` +
      `loads with a slice over 50 ms ${longLoads('wasmtrace')} vs ${longLoads('otel')}; ` +
      `of which promise reactions no script URL names (counted as the SDK's), median CPU ${med('wasmtrace', (r) => r.orphans.cpu).toFixed(2)} vs ${med('otel', (r) => r.orphans.cpu).toFixed(2)} ms`;
    const traceFig = (name, pick) =>
      figure({ name, unit: 'ms', ours: tr.wasmtrace.map(pick), theirs: tr.otel.map(pick), rivalName, note: traceNote });
    return [
      traceFig('page-load main-thread time of the SDK, Chromium trace, CPU', (r) => r.cpu.totalMs),
      traceFig('page-load main-thread time of the SDK, Chromium trace, wall', (r) => r.wall.totalMs),
      traceFig('longest SDK share of one main-thread task at page load, Chromium trace, CPU', (r) => r.cpu.longestMs),
      traceFig('longest SDK share of one main-thread task at page load, Chromium trace, wall', (r) => r.wall.longestMs),
      fig('script', 'ScriptDuration'),
      fig('task', 'TaskDuration'),
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}
