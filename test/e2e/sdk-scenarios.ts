// The SDK's browser scenarios, each written once against the Driver in
// sdk-env.ts and registered for Chromium and Firefox by the *.test.ts files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Collector } from '../helpers/collector.js';
import { allSpans, attrs, type FlatSpan } from '../helpers/otlp.js';
import { reportedVitals } from '../helpers/browser.js';
import { until } from '../helpers/poll.js';
import { attr, type Driver, type Env, named, ns, SLOW_WASM_MS, startEnv, startRelay, type Tab, waitSpans } from './sdk-env.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withEnv(opts: { csp?: string }, fn: (env: Env) => Promise<void>): Promise<void> {
  const env = await startEnv(opts);
  try {
    await fn(env);
  } finally {
    await env.close();
  }
}

async function open(d: Driver, url: string): Promise<Tab> {
  const tab = await d.newTab();
  await tab.goto(url);
  await tab.eval('window.wasmtrace ? window.wasmtrace.ready.then(() => true) : true');
  return tab;
}

const traceparentOf = (s: FlatSpan): string => `00-${s.traceId}-${s.spanId}-01`;

export async function pageLoad(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await open(d, env.appUrl());
    const c = env.collector;
    // Waits for every span it checks (CI once failed here with documentFetch's check unnamed), each
    // resource by its URL: the initial buffer is recorded in slices, which can go in later batches.
    const want = ['documentLoad', 'documentFetch', 'early'];
    const resources = ['/style.css', '/pixel.svg', '/app.js', '/wasmtrace.js'];
    const hasResource = (s: FlatSpan[], path: string): boolean => s.some((x) => x.name === 'resourceFetch' && String(attr(x, 'url.full')).endsWith(path));
    await waitSpans(c, (s) => want.every((n) => s.some((x) => x.name === n)) && resources.every((p) => hasResource(s, p)));
    const [load] = named(c, 'documentLoad');
    assert.ok(load, 'documentLoad');
    assert.equal(load.parentSpanId, '', 'documentLoad is a root span');
    assert.equal(load.resource['service.name'], 'e2e-web');
    assert.match(String(load.resource['session.id']), /^[0-9a-f]{32}$/);
    const events = load.events.map((e) => e.name);
    for (const phase of ['domInteractive', 'domContentLoadedEventEnd', 'loadEventEnd']) assert.ok(events.includes(phase), `documentLoad has ${phase}: ${events}`);
    const children = [...named(c, 'documentFetch'), ...named(c, 'resourceFetch')];
    const urls = named(c, 'resourceFetch').map((s) => String(attr(s, 'url.full')));
    for (const want of resources) assert.ok(urls.some((u) => u.endsWith(want)), `resource ${want} in ${urls}`);
    assert.ok(!urls.some((u) => u.includes('wasmtrace.wasm') || u.startsWith(c.origin)), 'no spans for the SDK\'s own requests');
    for (const s of children) {
      // Firefox fetches the favicon about when the load ends: documentLoad's child if it starts by then, else a trace of its own.
      if (String(attr(s, 'url.full')).endsWith('/favicon.ico')) {
        assert.equal(s.parentSpanId, ns(s, 'start') <= ns(load, 'end') ? load.spanId : '', 'the favicon');
        continue;
      }
      assert.equal(s.traceId, load.traceId);
      assert.equal(s.parentSpanId, load.spanId, `${s.name} is a child of documentLoad`);
      assert.ok(ns(s, 'start') >= ns(load, 'start') && ns(s, 'end') <= ns(load, 'end'), `${s.name} ${attr(s, 'url.full')} lies within the navigation: ${s.startTimeUnixNano}..${s.endTimeUnixNano} in ${load.startTimeUnixNano}..${load.endTimeUnixNano}`);
      assert.ok(ns(s, 'end') >= ns(s, 'start'), `${s.name} ${attr(s, 'url.full')} ends after it starts: ${s.startTimeUnixNano}..${s.endTimeUnixNano}`);
    }
    const fetchEvents = named(c, 'documentFetch')[0]?.events.map((e) => e.name);
    assert.ok(fetchEvents?.includes('responseEnd'), `documentFetch has responseEnd: ${fetchEvents}`);
    // Firefox ESR gives the document a fetchStart before the time origin (docs/platform.md): the event is there all the same, at its start.
    assert.ok(fetchEvents?.includes('fetchStart'), `documentFetch has fetchStart: ${fetchEvents}`);
    const early = named(c, 'early')[0];
    assert.equal(early && attr(early, 'queued'), true, 'a span started before Wasm was ready is replayed');
    assert.ok(env.site.requests.some((r) => r.path === '/wasmtrace.wasm'), 'the Wasm is loaded from beside the script');
    assert.deepEqual(tab.pageErrors, []);
    await tab.close();
  });
}

/** Requests the page sends as it starts, before the SDK is ready: traced, and their traceparent names their span. */
export async function earlyRequests(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await open(d, `${env.appUrl()}&boot`);
    assert.deepEqual(await tab.eval('window.boot'), [200, 200, 200]);
    const c = env.collector;
    const from = (url: unknown): string | null => new URL(String(url), 'http://x').searchParams.get('from');
    const clients = (f: string) => c.spans().filter((s) => s.kind === 3 && from(attr(s, 'url.full')) === f);
    await waitSpans(c, () => ['boot', 'boot-xhr', 'boot-other'].every((f) => clients(f).length > 0));
    const [bootAt, readyAt] = await tab.eval<[number, number]>('wasmtrace.ready.then(() => [window.bootAt, window.readyAt])');
    assert.ok(bootAt < readyAt, `the requests went out before the SDK was ready (${bootAt} < ${readyAt} ms)`);
    for (const f of ['boot', 'boot-xhr']) {
      const [span, more] = clients(f);
      assert.ok(span && !more, `${f}: one client span`);
      const req = env.api.requests.find((r) => from(r.path) === f);
      assert.equal(req?.headers.traceparent, traceparentOf(span), `${f}: the header names the exported span`);
      assert.equal(span.parentSpanId, '', `${f}: a trace of its own`);
      assert.equal(span.name, 'GET');
      assert.equal(attr(span, 'http.response.status_code'), '200');
      assert.equal(attr(span, 'server.port'), new URL(env.api.origin).port);
      assert.ok(Number(span.endTimeUnixNano) > Number(span.startTimeUnixNano), `${f}: it ended after it started`);
    }
    const other = env.other.requests.find((r) => from(r.path) === 'boot-other');
    assert.equal(other?.headers.traceparent, undefined, 'no traceparent outside propagateTo, before ready too');
    assert.equal(clients('boot-other').length, 1);
    await tab.eval('app.fetchApi()'); // after ready: the full instrumentation, one span
    await waitSpans(c, () => clients('direct').length > 0);
    assert.equal(clients('direct').length, 1);
    await tab.close(); // pagehide: the resource spans still queued are exported
    await sleep(500);
    const resources = c.spans().filter((s) => s.name === 'resourceFetch' && /from=boot/.test(String(attr(s, 'url.full'))));
    assert.deepEqual(resources.map((s) => attr(s, 'url.full')), [], 'no resourceFetch span repeats a traced request');
  });
}

export async function propagation(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await open(d, env.appUrl());
    assert.equal(await tab.eval('app.fetchApi()'), '{"ok":true}');
    assert.equal(await tab.eval('app.xhrApi()'), 200);
    assert.equal(await tab.eval('app.fetchOther()'), '{"ok":true}');
    const c = env.collector;
    const client = (from: string) => c.spans().find((s) => s.kind === 3 && String(attr(s, 'url.full')).includes(from));
    await waitSpans(c, () => !!client('from=direct') && !!client('from=xhr') && !!client('/other/data'));
    for (const from of ['from=direct', 'from=xhr']) {
      const span = client(from)!;
      const req = env.api.requests.find((r) => r.path.includes(from));
      assert.equal(req?.headers.traceparent, traceparentOf(span), `${from}: the header names the exported client span`);
      assert.equal(attr(span, 'http.request.method'), 'GET');
      assert.equal(attr(span, 'http.response.status_code'), '200');
      assert.equal(attr(span, 'server.address'), '127.0.0.1');
      assert.equal(attr(span, 'server.port'), new URL(env.api.origin).port);
      assert.equal(span.name, 'GET');
    }
    // An unknown method refused by CORS: span `HTTP`, `_OTHER`, error.type from the failure.
    assert.equal(await tab.eval('app.fetchCustom()'), 'TypeError');
    await waitSpans(c, () => !!client('from=custom'));
    const custom = client('from=custom')!;
    assert.equal(custom.name, 'HTTP');
    assert.equal(attr(custom, 'http.request.method'), '_OTHER');
    assert.equal(attr(custom, 'http.request.method_original'), 'PURGE');
    assert.equal(attr(custom, 'error.type'), 'TypeError');
    assert.equal(custom.status.code, 2);
    assert.equal(attr(custom, 'http.response.status_code'), undefined);

    const other = env.other.requests.find((r) => r.path === '/other/data');
    assert.ok(other, 'the other origin was called');
    assert.equal(other.headers.traceparent, undefined, 'no traceparent outside propagateTo');
    assert.equal(other.headers.tracestate, undefined);
    assert.ok(client('/other/data'), 'the unpropagated fetch still has its client span');
    await tab.close();
  });
}

export async function interactions(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await open(d, env.appUrl());
    const c = env.collector;
    await tab.click('#load');
    const get = () => c.spans().find((s) => s.kind === 3 && String(attr(s, 'url.full')).includes('from=click'));
    await waitSpans(c, () => !!get() && named(c, 'click').some((s) => s.spanId === get()!.parentSpanId));
    const span = get()!;
    const click = named(c, 'click').find((s) => s.spanId === span.parentSpanId)!;
    assert.equal(click.traceId, span.traceId);
    assert.equal(attr(click, 'target_id'), 'load');
    assert.ok(ns(click, 'end') >= ns(span, 'end'), 'the click span lasts until the fetch it started is done');
    assert.equal(env.api.requests.find((r) => r.path.includes('from=click'))?.headers.traceparent, traceparentOf(span));

    // A submit dispatched by a click's activation: click → submit → XHR POST.
    await tab.click('#send');
    const post = () => c.spans().find((s) => s.kind === 3 && String(attr(s, 'url.full')).includes('from=submit'));
    // The #send click's span can go in another request than the submit's: both awaited.
    await waitSpans(c, () => !!post() && named(c, 'submit').length > 0 && named(c, 'click').some((s) => attr(s, 'target_id') === 'send'));
    const submit = named(c, 'submit')[0]!;
    assert.equal(post()!.parentSpanId, submit.spanId, 'the XHR started in the submit handler is its child');
    const sendClick = named(c, 'click').find((s) => attr(s, 'target_id') === 'send');
    assert.equal(submit.parentSpanId, sendClick?.spanId, 'submit is a child of the click that caused it');

    // A synthetic click inside startActiveSpan: a child of it, and the slot is clear afterwards.
    const leaked = await tab.eval(`wasmtrace.ready.then((t) => {
      t.startActiveSpan('outer', (s) => { document.getElementById('out').click(); s.end(); });
      return new Promise((r) => setTimeout(r, 20)).then(() => t.getActiveSpan() !== undefined);
    })`);
    assert.equal(leaked, false, 'no span left active after a synthetic click');
    await waitSpans(c, (s) => s.some((x) => x.name === 'outer') && s.some((x) => x.name === 'click' && attr(x, 'target_element') === 'OUTPUT'));
    const synthetic = named(c, 'click').find((x) => attr(x, 'target_element') === 'OUTPUT')!;
    assert.equal(synthetic.parentSpanId, named(c, 'outer')[0]!.spanId);

    // SPA navigation under nothing in particular.
    await tab.eval('app.pushState("/app.html?v=spa")');
    await waitSpans(c, (s) => s.some((x) => x.name === 'navigation'));
    assert.match(String(attr(named(c, 'navigation')[0]!, 'url.full')), /v=spa$/);

    // A click on a link that leaves the page: its span goes out with the page's last batch.
    await tab.click('#away');
    await waitSpans(c, (s) => s.some((x) => x.name === 'click' && attr(x, 'target_id') === 'away'));
    const away = named(c, 'click').find((x) => attr(x, 'target_id') === 'away')!;
    assert.equal(attr(away, 'url.full'), `${env.site.origin}/plain.html`);
    await tab.close();
  });
}

export async function errors(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await open(d, env.appUrl());
    const c = env.collector;
    await tab.click('#boom');
    await tab.eval('app.throwLater()');
    await tab.eval('app.rejectLater()');
    const exception = (s: FlatSpan) => attrs(s.events.find((e) => e.name === 'exception')?.attributes ?? []);
    await waitSpans(c, (s) => s.some((x) => x.name === 'error') && s.some((x) => x.name === 'unhandledrejection') &&
      s.some((x) => x.name === 'click' && x.events.length > 0));
    const onClick = named(c, 'click').find((s) => s.events.length > 0)!;
    assert.equal(exception(onClick)['exception.message'], 'boom from click', 'an error in a handler lands on the interaction span');
    assert.equal(onClick.status.code, 2);
    const err = named(c, 'error')[0]!;
    assert.equal(exception(err)['exception.type'], 'TypeError');
    assert.equal(exception(err)['exception.message'], 'thrown later');
    assert.ok(String(exception(err)['exception.stacktrace']).length > 0);
    assert.equal(err.status.code, 2);
    const rej = named(c, 'unhandledrejection')[0]!;
    assert.equal(exception(rej)['exception.type'], 'RangeError');
    assert.equal(exception(rej)['exception.message'], 'rejected on purpose');
    await tab.close();
  });
}

export async function webVitals(d: Driver, vitals: string[]): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await open(d, env.appUrl());
    const c = env.collector;
    // documentLoad ends in an idle callback after the load event, up to 1 s
    // later on a busy machine. A tab closed before then builds it in pagehide,
    // and Firefox cuts pagehide handlers off partway when a tab closes
    // (docs/platform.md): documentLoad was lost. This test is about the
    // vitals, so the tab goes once documentLoad is out.
    await waitSpans(c, (s) => s.some((x) => x.name === 'documentLoad'));
    await tab.click('#slow');
    await sleep(300); // hidden soon after the interaction (see web-vitals.ts on INP)
    const before = c.spans().filter((s) => s.name.startsWith('web-vital.')).map((s) => s.name);
    const expected = await reportedVitals((code) => tab.eval(code), vitals);
    await tab.close(); // hidden, then unloaded
    // At close, pagehide sends what is left (the long animation frame's span
    // can be among it) and the visibilitychange after it sends LCP and INP:
    // two requests that reach the collector in either order, both awaited.
    const longFrame = (x: FlatSpan): boolean => x.name === 'longAnimationFrame' && Number(attr(x, 'browser.long_task.duration_ms')) >= 80;
    await waitSpans(c, (s) => expected.every((n) => s.some((x) => x.name === `web-vital.${n}`)) && (d.name !== 'chromium' || s.some(longFrame)));
    const load = named(c, 'documentLoad')[0]!;
    for (const n of expected) {
      const v = named(c, `web-vital.${n}`)[0]!;
      assert.equal(attr(v, 'web_vital.name'), n);
      assert.ok(['good', 'needs-improvement', 'poor'].includes(String(attr(v, 'web_vital.rating'))));
      // Under documentLoad within its window; reported after it (INP, CLS), a root linked to it.
      if (v.parentSpanId) assert.ok(v.parentSpanId === load.spanId && ns(v, 'end') <= ns(load, 'end'), `${n} is under documentLoad, within it`);
      else assert.ok(v.links.some((l) => l.spanId === load.spanId), `${n} is a root linked to documentLoad`);
      assert.ok(Object.keys(attrs(v.attributes)).some((k) => k.startsWith('web_vital.attribution.')), `${n} has attribution`);
    }
    if (d.name === 'chromium') {
      // The 80 ms click handler makes a long animation frame (Chromium only).
      assert.ok(named(c, 'longAnimationFrame').some(longFrame), 'a long animation frame span');
    }
    // LCP and CLS are final only once the page is hidden.
    if (expected.includes('CLS')) assert.ok(!before.includes('web-vital.CLS'), 'CLS arrived after the page was hidden');
  });
}

/** Spans made just before the tab goes away (closed, or navigated to a page without tracing): none lost, none twice. */
export async function unload(d: Driver, how: 'close' | 'navigate', reps: number): Promise<void> {
  await withEnv({}, async (env) => {
    const c = env.collector;
    const N = 120;
    for (let rep = 0; rep < reps; rep++) {
      const run = `${how}-${rep}`;
      const tab = await open(d, env.appUrl({ data: { 'scheduled-delay-ms': '60000', 'max-export-batch-size': '50' } }));
      // 120 spans: two batches cut and in flight, the rest still in Wasm when the page goes.
      await tab.eval(`app.spans(${JSON.stringify(run)}, ${N})`);
      if (how === 'close') await tab.close();
      else {
        await tab.goto(`${env.site.origin}/plain.html`);
        await tab.close();
      }
      const mine = () => c.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run);
      await c.waitFor(() => mine().length >= N, 10_000).catch(() => undefined);
      const atClose = mine().length;
      if (atClose < N) {
        // What the SDK promises for a batch the closed page left in
        // localStorage (its pagehide cut short under load, the batch still
        // claimed until timeoutMs + 30 s): the next page of the origin sends
        // it. A page adopts at load, so one is opened every few seconds.
        const next = await d.newTab();
        for (const until = Date.now() + 60_000; mine().length < N && Date.now() < until; ) {
          await next.goto(env.appUrl({ data: { 'scheduled-delay-ms': '60000' } }));
          await c.waitFor(() => mine().length >= N, 5000).catch(() => undefined);
        }
        await sleep(1000); // room for a copy to show up
        await next.close();
      }
      const seen = mine().map((s) => Number(attr(s, 'test.i')));
      // For a loss: which spans, and how the run's spans went out, request by request.
      const sent = () => c.requests.map((r) => (r.decoded ? allSpans(r.decoded).filter((s) => attr(s, 'test.run') === run).length : '?')).filter((n) => n !== 0);
      const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !seen.includes(i));
      const early = `${atClose}/${N} before any next page${missing.length ? `; missing ${missing.join(',')}; sent per request ${sent().join(' ')}; ${c.aborted.length} request(s) cut off mid-body` : ''}`;
      assert.equal(new Set(seen).size, N, `${run}: every span delivered (${new Set(seen).size}/${N}; ${early})`);
      assert.equal(seen.length, N, `${run}: no span delivered twice (${seen.length} deliveries; ${early})`);
    }
  });
}

function acceptedSpans(c: Collector, accepted: Set<number>): FlatSpan[] {
  return c.requests.flatMap((r, i) => (accepted.has(i) && r.decoded ? allSpans(r.decoded) : []));
}

function exactlyOnce(spans: FlatSpan[], run: string, n: number): void {
  const seen = spans.filter((s) => s.name === 'work' && attr(s, 'test.run') === run).map((s) => Number(attr(s, 'test.i')));
  assert.equal(new Set(seen).size, n, `${run}: every span delivered (${new Set(seen).size}/${n})`);
  assert.equal(seen.length, n, `${run}: each exactly once (${seen.length} deliveries)`);
}

const QUEUED = "Object.keys(localStorage).filter((k) => k.startsWith('wasmtrace:q:')).length";

export async function offlineThenReload(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const c = env.collector;
    let up = false;
    const accepted = new Set<number>();
    c.setRespond((_req, i) => {
      if (!up) return { status: 503 };
      accepted.add(i);
      return {};
    });
    const url = env.appUrl({ data: { 'scheduled-delay-ms': '100' } });
    const tab = await open(d, url);
    await tab.eval('app.spans("offline", 40)');
    await c.waitFor(() => c.requests.length > 0, 10_000);
    await until(async () => (await tab.eval<number>(QUEUED)) > 0, 'batches written to localStorage', 10_000, 50);
    up = true;
    await tab.goto(url); // reload: the old page's unload and the new page's adoption race for the batches
    await c.waitFor(() => acceptedSpans(c, accepted).filter((s) => attr(s, 'test.run') === 'offline').length >= 40, 15_000).catch(() => undefined);
    await sleep(1500); // room for a duplicate to show up
    exactlyOnce(acceptedSpans(c, accepted), 'offline', 40);
    // Another reload: whatever is still queued goes out, and nothing goes twice.
    await tab.goto(url);
    await until(async () => (await tab.eval<number>(QUEUED)) === 0, 'the queue to be empty afterwards', 10_000, 50).catch(async (e) => {
      const left = await tab.eval<string[]>("Object.keys(localStorage).map((k) => k + ' ' + localStorage.getItem(k).slice(0, 30))");
      throw new Error(`${(e as Error).message}: ${JSON.stringify(left)}; ${c.requests.length} requests, ${accepted.size} accepted`);
    });
    const sessions = new Set(acceptedSpans(c, accepted).map((s) => s.resource['session.id']));
    assert.equal(sessions.size, 1, 'session.id survives the reloads');
    const ids = acceptedSpans(c, accepted).map((s) => s.spanId);
    assert.equal(new Set(ids).size, ids.length, 'no span of any kind delivered twice');
    await tab.close();
  });
}

export async function twoTabs(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const c = env.collector;
    let up = false;
    const accepted = new Set<number>();
    c.setRespond((_req, i) => {
      if (!up) return { status: 503 };
      accepted.add(i);
      return {};
    });
    const data = { 'scheduled-delay-ms': '100', 'retry-initial-delay-ms': '200', 'retry-max-delay-ms': '400', 'max-attempts': '50' };
    const a = await open(d, env.appUrl({ data }));
    const b = await open(d, env.appUrl({ data }));
    await a.eval('app.spans("tab-a", 40)');
    await b.eval('app.spans("tab-b", 40)');
    await until(async () => (await a.eval<number>(QUEUED)) >= 2, 'both tabs wrote to the shared queue', 10_000, 50);
    up = true;
    // Both tabs retry on their timers and adopt each other's batches when claims lapse.
    await Promise.all([a.eval('wasmtrace.flush()'), b.eval('wasmtrace.flush()')]);
    const ok = () => acceptedSpans(c, accepted).filter((s) => s.name === 'work').length >= 80;
    await c.waitFor(ok, 15_000).catch(() => undefined);
    await sleep(1500);
    const spans = acceptedSpans(c, accepted);
    exactlyOnce(spans, 'tab-a', 40);
    exactlyOnce(spans, 'tab-b', 40);
    await a.close();
    await b.close();
  });
}

export async function cspAllowed(d: Driver): Promise<void> {
  await withEnv({ csp: "script-src 'self' 'wasm-unsafe-eval'" }, async (env) => {
    const tab = await open(d, env.appUrl());
    assert.equal(await tab.eval('app.fetchApi()'), '{"ok":true}');
    const c = env.collector;
    await waitSpans(c, (s) => s.some((x) => x.name === 'documentLoad') && s.some((x) => x.kind === 3));
    assert.match(String(env.api.requests[0]?.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(!tab.console.some((l) => l.includes('[wasmtrace]')), `no warnings: ${tab.console}`);
    assert.deepEqual(tab.pageErrors, []);
    await tab.close();
  });
}

export async function cspRefused(d: Driver): Promise<void> {
  await withEnv({ csp: "script-src 'self'" }, async (env) => {
    const tab = await open(d, env.appUrl());
    assert.equal(await tab.eval('wasmtrace.ready.then((t) => typeof t.startSpan)'), 'function');
    assert.equal(await tab.eval('app.fetchApi()'), '{"ok":true}', 'the page works');
    assert.equal(await tab.eval('(() => { const s = wasmtrace.startSpan("x"); s.end(); return s.isRecording(); })()'), false);
    await tab.click('#load');
    await sleep(800);
    const warnings = tab.console.filter((l) => l.includes('[wasmtrace]'));
    assert.equal(warnings.length, 1, `one warning: ${JSON.stringify(tab.console)}`);
    // Firefox over BiDi reports the browser's own CSP violation message as a page error.
    const thrown = tab.pageErrors.filter((m) => !m.startsWith('Content-Security-Policy:'));
    assert.deepEqual(thrown, [], 'nothing thrown into the page');
    assert.equal(env.api.requests[0]?.headers.traceparent, undefined, 'no tracing, no headers');
    assert.equal(env.collector.requests.length, 0, 'nothing exported');
    await tab.close();
  });
}

export async function esmInit(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await d.newTab();
    await tab.goto(env.appUrl({ esm: '/esm.js' }));
    await tab.eval('window.esmReady');
    assert.equal(await tab.eval('app.fetchApi()'), '{"ok":true}');
    assert.equal(await tab.eval('app.xhrApi()'), 200);
    const c = env.collector;
    await waitSpans(c, (s) => s.some((x) => x.name === 'documentLoad') && s.some((x) => x.kind === 3));
    assert.equal(named(c, 'documentLoad')[0]!.resource['service.name'], 'e2e-esm');
    assert.match(String(env.api.requests.find((r) => r.path.includes('from=direct'))?.headers.traceparent), /^00-/);
    assert.equal(env.api.requests.find((r) => r.path.includes('from=xhr'))?.headers.traceparent, undefined, 'xhr: false turns XHR off');
    await tab.close();
  });
}

/** The Wasm arrives late: the load event does not wait, calls made meanwhile are replayed. */
export async function slowWasm(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const tab = await d.newTab();
    const started = Date.now();
    await tab.goto(env.appUrl({ data: { wasm: `${env.api.origin}/slow.wasm` } }));
    const loadedMs = Date.now() - started;
    const loadEventEnd = await tab.eval<number>('performance.getEntriesByType("navigation")[0].loadEventEnd');
    assert.ok(loadEventEnd < SLOW_WASM_MS, `load event at ${loadEventEnd} ms, before the Wasm (${SLOW_WASM_MS} ms)`);
    assert.ok(loadedMs < SLOW_WASM_MS + 500, `goto returned after ${loadedMs} ms`);
    await tab.eval('app.spans("slow", 3)'); // before ready: queued
    assert.equal(await tab.eval('wasmtrace.ready.then(() => "ready")'), 'ready');
    const c = env.collector;
    await waitSpans(c, (s) => s.some((x) => x.name === 'documentLoad') && s.filter((x) => x.name === 'work').length === 3 && s.some((x) => x.name === 'early'));
    const load = named(c, 'documentLoad')[0]!;
    assert.ok(ns(load, 'end') - ns(load, 'start') < BigInt(SLOW_WASM_MS) * 1_000_000n, 'documentLoad keeps the navigation\'s own times');
    const work = named(c, 'work')[0]!;
    assert.ok(ns(work, 'start') < ns(load, 'start') + BigInt(SLOW_WASM_MS) * 1_000_000n, 'a queued span keeps the time it was started at');
    await tab.close();
  });
}

/** The collector's port refuses connections (offline), then comes back; the page is reloaded. */
export async function refusedThenReload(d: Driver): Promise<void> {
  await withEnv({}, async (env) => {
    const c = env.collector;
    const relay = await startRelay(c.origin);
    try {
      const endpoint = relay.origin + new URL(c.url).pathname;
      const url = env.appUrl({ data: { endpoint, 'scheduled-delay-ms': '100' } });
      await relay.down();
      const tab = await open(d, url);
      await tab.eval('app.spans("refused", 40)');
      await until(async () => (await tab.eval<number>(QUEUED)) > 0, 'batches written to localStorage', 10_000, 50);
      assert.equal(c.requests.length, 0, 'nothing reached the collector while down');
      await relay.up();
      await tab.goto(url);
      const mine = () => c.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === 'refused');
      await c.waitFor(() => mine().length >= 40, 15_000).catch(() => undefined);
      await sleep(1500);
      exactlyOnce(c.spans(), 'refused', 40);
      const ids = c.spans().map((s) => s.spanId);
      assert.equal(new Set(ids).size, ids.length, 'no span of any kind delivered twice');
      await tab.close();
    } finally {
      await relay.close();
    }
  });
}

/**
 * Registers every scenario above as a test of `browser` (the name prefixes the
 * test names), on one browser from `launch` for the whole file; `vitals` are
 * the web vitals that browser reports.
 */
export function registerScenarios(browser: string, launch: () => Promise<Driver>, vitals: string[]): void {
  let d: Driver;
  before(async () => {
    d = await launch();
  });
  after(async () => {
    await d?.close();
  });
  const t = { timeout: 120_000 };
  const long = { timeout: 240_000 };
  const scenario = (name: string, opts: { timeout: number }, run: (d: Driver) => Promise<void>): void => {
    test(`${browser}: ${name}`, opts, () => run(d));
  };
  scenario('page load → documentLoad, documentFetch and resource spans within the navigation', t, pageLoad);
  scenario('traceparent matches the client span; none outside propagateTo', t, propagation);
  scenario('requests sent before the SDK is ready are traced, their traceparent naming their span', t, earlyRequests);
  scenario('a click (and the submit it causes) parents the requests it starts', t, interactions);
  scenario('thrown errors and unhandled rejections are exported', t, errors);
  scenario('web vitals arrive after the page is hidden', t, (dr) => webVitals(dr, vitals));
  scenario('closing the tab mid-batch loses nothing (20 times)', long, (dr) => unload(dr, 'close', 20));
  scenario('navigating away mid-batch loses nothing (10 times)', long, (dr) => unload(dr, 'navigate', 10));
  scenario('collector down → localStorage → reload → exactly once', t, offlineThenReload);
  scenario('two tabs share the queue without loss or duplicates', t, twoTabs);
  scenario("script tag under script-src 'self' 'wasm-unsafe-eval'", t, cspAllowed);
  scenario('Wasm refused by CSP → no-op, one warning, nothing thrown', t, cspRefused);
  scenario('init() from wasmtrace/browser with instrumentations options', t, esmInit);
  scenario('the load event does not wait for the Wasm; calls made meanwhile are replayed', t, slowWasm);
  scenario('collector unreachable (connection refused) → localStorage → reload → exactly once', t, refusedThenReload);
}
