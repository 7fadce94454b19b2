// Page-load main-thread cost in Chromium: the same page loaded without an SDK,
// with wasmtrace and with OpenTelemetry JS (each with document-load, fetch,
// XHR and user-interaction instrumentation — OTel with ZoneContextManager, as
// its docs set it up — starting up, recording one span and flushing it to a
// local endpoint). Each sample is a fresh browser context (cold HTTP cache);
// the three pages alternate. Method: the CDP Performance domain's cumulative
// ScriptDuration and TaskDuration for the page, read SETTLE_MS after the
// page's load handler has flushed, so that work either SDK leaves for after
// the load (documentLoad spans, idle-time start-up) is counted too; the SDK's
// cost is its page's median minus the bare page's median.
import { existsSync, readFileSync } from 'node:fs';
import { median, spread } from './lib/figure.mjs';
import { interleave } from './lib/interleave.mjs';
import { bundlePage, launch } from './lib/chromium.mjs';
import { serve } from './lib/server.mjs';
import { dist } from './lib/paths.mjs';
import { packageVersions } from './lib/machine.mjs';

/** Wait after the page's flush before reading the metrics, ms. */
const SETTLE_MS = 1500;
const items = Array.from({ length: 200 }, (_, i) => `<li>item ${i}</li>`).join('');
const html = (script) => `<!doctype html><meta charset="utf-8"><title>load</title><ul>${items}</ul>${script}`;

export async function run({ smoke = false } = {}) {
  const rounds = smoke ? 2 : Number(process.env.PAGELOAD_ROUNDS ?? 21);
  const pages = new URL('pages/', import.meta.url);
  const wasm = readFileSync(new URL('wasmtrace.wasm', dist));
  // The script-tag build is what a page would use; until it exists, init() from the package entry.
  const scriptTag = existsSync(new URL('wasmtrace.js', dist));
  const files = {
    '/none.js': { type: 'text/javascript', body: await bundlePage(new URL('load-none.mjs', pages)) },
    '/otel.js': { type: 'text/javascript', body: await bundlePage(new URL('load-otel.mjs', pages)) },
    '/wasmtrace.wasm': { type: 'application/wasm', body: wasm },
    '/none': { type: 'text/html', body: html('<script type="module" src="/none.js"></script>') },
    '/otel': { type: 'text/html', body: html('<script type="module" src="/otel.js"></script>') },
  };
  if (scriptTag) {
    files['/wasmtrace.js'] = { type: 'text/javascript', body: readFileSync(new URL('wasmtrace.js', dist)) };
    files['/wasmtrace'] = {
      type: 'text/html',
      body: html(`<script src="/wasmtrace.js" data-service-name="page" data-endpoint="/v1/traces"></script>
<script>addEventListener('load', async () => { const t = await window.wasmtrace.ready;
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
  try {
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
    return [fig('script', 'ScriptDuration'), fig('task', 'TaskDuration')];
  } finally {
    await browser.close();
    await server.close();
  }
}
