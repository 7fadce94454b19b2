// The script tag's API after ready takes a span as a parent everywhere the
// tracer does: startSpan(name, options, span), startActiveSpan with a parent,
// withSpan(span, fn) and inject(carrier, span). Before, its wrapper took any
// object with baggage for a context made before ready and extracted it again
// from fields a span does not have: every span given explicitly started a new
// trace, and inject wrote no traceparent. Generated chains of spans (a
// recording span, an extracted remote context, the span getActiveSpan gives
// over it), each given as itself or inside an OpenTelemetry Context, in
// Chromium, checked against the exported spans.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, openPage, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const CASES = 40;

interface Step { name: string; parent: string; how: 'startSpan' | 'startActiveSpan' | 'withSpan'; traceId: string; spanId: string; injected: string | null }

test(`Chromium: after ready, the script tag's API takes a span as a parent, or an OpenTelemetry Context holding it (startSpan, startActiveSpan, withSpan, inject; ${CASES} generated chains)`, async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const c = await startCollector({ cors: { origins: '*' } });
  t.after(() => c.close());
  const site = await startStaticServer({
    routes: {
      '/index.html': () => ({
        type: 'text/html',
        body: `<!doctype html><title>parents</title><script src="/wasmtrace.js" data-service-name="parents" data-endpoint="${c.url}" data-compression="none"
          data-disable="webVitals,longTasks,documentLoad,resources,interactions,errors"></script>`,
      }),
      '/wasmtrace.js': { body: readFileSync(join(dist, 'wasmtrace.js')), type: 'text/javascript' },
      '/wasmtrace.wasm': { body: readFileSync(join(dist, 'wasmtrace.wasm')), type: 'application/wasm' },
    },
  });
  t.after(() => site.close());
  const r = prng(0x5ca1e);
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
  // Each chain: a first parent (a recording span, or an extracted context, or the active span over one), then 1-4 children, each under a parent chosen from the chain so far.
  const chains = Array.from({ length: CASES }, (_, i) => ({
    root: (['span', 'remote', 'active'] as const)[i % 3],
    remote: `00-${hex(31)}${1 + (i % 9)}-${hex(15)}${1 + (i % 9)}-01`,
    steps: Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({ pick: r(), how: (['startSpan', 'startActiveSpan', 'withSpan'] as const)[Math.floor(r() * 3)], wrap: r() < 0.5 })),
  }));
  const { page, errors } = await openPage(() => browser.newPage() as Promise<AnyPage>, site.url);
  const results = (await page.evaluate(`(async (chains) => {
    await window.wasmtrace.ready;
    const w = window.wasmtrace; // the tag's API, as a page calls it (ready resolves to the tracer itself)
    const ctxOf = (s) => s.spanContext ? s.spanContext() : s;
    return chains.map((chain, i) => {
      const remote = w.extract({ traceparent: chain.remote });
      const first = chain.root === 'span' ? w.startSpan('first-' + i) : chain.root === 'remote' ? remote : w.withSpan(remote, () => w.getActiveSpan());
      const known = [first];
      const steps = chain.steps.map(({ pick, how, wrap }, j) => {
        const parent = known[Math.floor(pick * known.length)];
        // Or given as an OpenTelemetry Context holding it (what @opentelemetry/api's trace.setSpan makes: getValue under the API's key).
        const given = wrap ? { getValue: (k) => (k === Symbol.for('OpenTelemetry Context Key SPAN') ? parent : undefined) } : parent;
        const name = 'c-' + i + '-' + j;
        const s = how === 'startSpan' ? w.startSpan(name, {}, given)
          : how === 'startActiveSpan' ? w.startActiveSpan(name, {}, given, (span) => span)
          : w.withSpan(given, () => w.startSpan(name));
        const h = {};
        w.inject(h, given);
        known.push(s);
        const sc = s.spanContext();
        return { name, parent: ctxOf(parent).spanId, how, traceId: sc.traceId, spanId: sc.spanId, injected: h.traceparent ?? null, parentTrace: ctxOf(parent).traceId };
      });
      for (const s of known) if (s.end) s.end();
      return steps;
    });
  })(${JSON.stringify(chains)})`)) as (Step & { parentTrace: string })[][];
  await page.evaluate('window.wasmtrace.flush()');
  assert.deepEqual(errors, []);
  const steps = results.flat();
  await c.waitFor(() => steps.every((s) => c.spans().some((x) => x.name === s.name)), 15_000);
  for (const s of steps) {
    const what = `${s.name} (${s.how})`;
    assert.equal(s.traceId, s.parentTrace, `${what}: in its parent's trace`);
    assert.equal(s.injected, `00-${s.parentTrace}-${s.parent}-01`, `${what}: inject writes the parent`);
    const exported = c.spans().find((x) => x.name === s.name)!;
    assert.equal(exported.traceId, s.parentTrace, what);
    assert.equal(exported.parentSpanId, s.parent, what);
  }
});
