// The script tag's extract() before the Wasm is ready agrees with extract()
// after it: a carrier with a `baggage` header and no valid traceparent gives
// a context (invalid ids) whose baggage holds, as W3C Baggage stands on its
// own; spans started under it begin a new trace that carries it. Before, the
// early extract() dropped such a carrier. The same generated carriers (seeded:
// baggage with and without a traceparent, valid, malformed or all zero, some
// as a Headers object) are probed before ready and again after, in Chromium:
// the context, what inject writes for it and inside withSpan, the baggage a
// child span carries on, the exported spans and the headers of a request.
// Tracestate comes in as after ready too: a threshold (`ot=th:`) that is
// malformed or that the sampled flag contradicts is erased. The context is
// the same object before and after: no internal field (the baggage) on it,
// `traceState` only when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, openPage, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { startApi, type Api } from './sdk-env.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const tagFiles = {
  '/wasmtrace.js': { body: readFileSync(join(dist, 'wasmtrace.js')), type: 'text/javascript' },
  '/wasmtrace.wasm': { body: readFileSync(join(dist, 'wasmtrace.wasm')), type: 'application/wasm' },
};

const CASES = 48;
const HEX = '0123456789abcdef';

type Carrier = Record<string, string> & { asHeaders?: string };

function carriers(seed: number): Carrier[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chars = (alphabet: string, n: number): string => Array.from({ length: n }, () => pick([...alphabet])).join('');
  const member = (): string => {
    const x = r();
    if (x < 0.1) return pick(['=v', 'k', ' ', 'k=v;', 'a b=c', 'k=\u00e9']); // malformed: dropped
    const value = x < 0.4 ? encodeURIComponent(pick(['gold plus', 'é', 'a,b', 'x=y', '100%'])) : chars('abcxyz0129-_', 1 + Math.floor(r() * 8));
    return `${pick([' ', '', ''])}${chars('abcdefghij', 1 + Math.floor(r() * 5))}=${value}${r() < 0.2 ? ';prop=1' : ''}${pick([' ', '', ''])}`;
  };
  return Array.from({ length: CASES }, (_, i) => {
    const c: Carrier = {};
    const tp = i % 4;
    // None (half the cases), valid, or not valid: zero ids, upper case, garbage.
    if (tp === 2) c.traceparent = `00-${chars(HEX, 32)}-${chars(HEX, 16)}-01`;
    else if (tp === 3) c.traceparent = pick([`00-${'0'.repeat(32)}-${chars(HEX, 16)}-01`, `00-${chars(HEX, 32)}-${'0'.repeat(16)}-01`, `00-${chars(HEX, 32).toUpperCase()}-${chars(HEX, 16)}-01`, 'garbage', '']);
    // Tracestate, with an OpenTelemetry threshold the sampled flag may contradict (erased then) or malformed.
    if (r() < 0.5) c.tracestate = pick(['vendor=v1', 'a=1,b=2', 'bad state!', 'ot=th:8', 'vendor=v1,ot=th:8;p:3', `ot=th:${chars(HEX, 1 + Math.floor(r() * 14))}`, 'ot=th:zz']);
    // Baggage in nearly every case; a few with none left after parsing, or none at all.
    if (i % 8 !== 7) c[pick(['baggage', 'Baggage', 'BAGGAGE'])] = Array.from({ length: 1 + Math.floor(r() * 4) }, member).join(',');
    if (r() < 0.3) c.asHeaders = '1';
    return c;
  });
}

/** The page's probe: what the script tag's API makes of carrier `i`, its span named `<phase>-<i>`, and a request in its context. */
const PROBE = `
function probe(c, i, phase) {
  const w = window.wasmtrace;
  const { asHeaders, ...fields } = c;
  const carrier = asHeaders ? new Headers(fields) : fields;
  const ctx = w.extract(carrier);
  const injected = (span) => { const h = {}; w.inject(h, span); return h; };
  const out = {
    ctx: ctx ? { traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags, traceState: ctx.traceState || null, isRemote: ctx.isRemote } : null,
    json: JSON.stringify(ctx ?? null), // the context exactly as given out: no internal fields, traceState only when there is one
    injected: injected(ctx),
    inside: w.withSpan(ctx, () => {
      // The active span, and that span given back as a parent: to inject, to withSpan, to startSpan.
      const a = w.getActiveSpan();
      const child = a && w.startSpan('via-active', {}, a);
      child?.end();
      return {
        baggage: w.getBaggage(), injected: injected(),
        active: a ? { ctx: a.spanContext(), recording: a.isRecording() } : null,
        viaActive: a ? { injected: injected(a), inFrame: w.withSpan(a, () => injected()), childTrace: child.spanContext().traceId } : null,
      };
    }),
  };
  const s = w.startSpan(phase + '-' + i, {}, ctx);
  out.child = w.withSpan(s, () => injected().baggage ?? null);
  s.end();
  w.withSpan(ctx, () => fetch(API + '/data?step=' + phase + '-' + i));
  return out;
}`;

test(`Chromium: extract() before ready agrees with extract() after it, baggage without a traceparent included (${CASES} generated carriers)`, async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const c = await startCollector({ cors: { origins: '*' } });
  const cases = carriers(0xbad9);
  let api: Api | undefined;
  const site = await startStaticServer({
    routes: {
      '/index.html': () => ({
        type: 'text/html',
        body: `<!doctype html><title>early extract</title>
          <script src="/wasmtrace.js" data-service-name="early-extract" data-endpoint="${c.url}" data-compression="none" data-propagate-to="${api!.origin}"
            data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
          <script>
            const API = ${JSON.stringify(api!.origin)}, CASES = ${JSON.stringify(cases)};
            let ready = false;
            wasmtrace.ready.then(() => { ready = true; });
            ${PROBE}
            window.before = CASES.map((c, i) => probe(c, i, 'before'));
            window.wasReady = ready;
          </script>`,
      }),
      ...tagFiles,
    },
  });
  api = await startApi(site.origin);
  try {
    const { page, errors } = await openPage(() => browser.newPage() as Promise<AnyPage>, site.url);
    const r = (await page.evaluate(`(async () => {
      const t = await window.wasmtrace.ready;
      const after = CASES.map((c, i) => probe(c, i, 'after'));
      await t.flush();
      return { before: window.before, after, wasReady: window.wasReady };
    })()`)) as { before: Probe[]; after: Probe[]; wasReady: boolean };
    assert.deepEqual(errors, []);
    assert.equal(r.wasReady, false, 'the page script ran before ready');

    await c.waitFor(() => cases.every((_, i) => ['before', 'after'].every((p) => c.spans().some((s) => s.name === `${p}-${i}`))), 15_000);
    await c.waitFor(() => api!.requests.filter((q) => q.path.includes('step=')).length >= 2 * CASES, 15_000);
    // Each request's CLIENT span, ended when its answer came (after the flush above for some).
    await page.evaluate('window.wasmtrace.flush()');
    const clientIds = api.requests.map((q) => String(q.headers.traceparent).split('-')[2]);
    await c.waitFor(() => clientIds.every((id) => c.spans().some((s) => s.spanId === id)), 15_000);
    const seen = { baggageOnly: 0, withTrace: 0, none: 0 };
    cases.forEach((carrier, i) => {
      const what = `case ${i}: ${JSON.stringify(carrier)}`;
      const [before, after] = [r.before[i]!, r.after[i]!];
      assert.deepEqual(before, after, what);
      const ctx = after.ctx;
      const valid = !!ctx && !/^0+$/.test(ctx.traceId);
      // The active span over a valid context is its parent as the context itself is, baggage included.
      if (valid) {
        const via = after.inside.viaActive;
        assert.ok(via, what);
        assert.deepEqual(via.injected, after.injected, what);
        assert.deepEqual(via.inFrame, after.injected, what);
        assert.equal(via.childTrace, ctx.traceId, what);
      }
      if (ctx && !valid) seen.baggageOnly++;
      else if (valid) seen.withTrace++;
      else seen.none++;
      // The exported span and the request: in the context's trace when it has one, else a new trace.
      const relation = (phase: string) => {
        const span = c.spans().find((s) => s.name === `${phase}-${i}`)!;
        const h = api!.requests.find((q) => q.path.endsWith(`step=${phase}-${i}`))!.headers;
        const [, traceId, spanId] = String(h.traceparent).split('-');
        const client = c.spans().find((s) => s.spanId === spanId);
        return {
          span: [valid ? span.traceId === ctx!.traceId : span.traceId !== '0'.repeat(32), span.parentSpanId === (valid ? ctx!.spanId : '')],
          request: [h.baggage ?? null, valid ? traceId === ctx!.traceId : traceId !== '0'.repeat(32), client?.parentSpanId === (valid ? ctx!.spanId : '')],
        };
      };
      const want = { span: [true, true], request: [after.inside.injected.baggage ?? null, true, true] };
      assert.deepEqual(relation('before'), want, `${what}: before ready`);
      assert.deepEqual(relation('after'), want, `${what}: after ready`);
    });
    for (const [k, n] of Object.entries(seen)) assert.ok(n >= 4, `${k}: ${JSON.stringify(seen)}`);
  } finally {
    await Promise.all([c.close(), site.close(), api?.close()]);
  }
});

interface Probe {
  ctx: { traceId: string; spanId: string; traceFlags: number; traceState: string | null; isRemote: boolean } | null;
  json: string;
  injected: Record<string, string>;
  inside: {
    baggage: Record<string, unknown>; injected: Record<string, string>; active: unknown;
    viaActive: { injected: Record<string, string>; inFrame: Record<string, string>; childTrace: string } | null;
  };
  child: string | null;
}
