// wasmtrace/worker in real workerd: trace continuation per W3C Trace
// Context, semantic-convention attributes, outgoing fetch as CLIENT spans,
// errors, export through waitUntil, and a collector that is down or slow.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';
import { fixture, startUpstream, startWorkers, type Upstream } from './harness.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

let collector: Collector;
let upstream: Upstream;
let mf: Miniflare;

/** Sends a request to the app; returns the response and when it arrived (unix ms). */
async function get(path: string, headers: Record<string, string> = {}, host = 'shop.example') {
  const res = await mf.dispatchFetch(`http://${host}${path}`, { headers: { 'user-agent': 'wasmtrace-test/1', ...headers } });
  const body = await res.text();
  return { status: res.status, body, headers: res.headers, at: Date.now() };
}

/** Waits for a span of `traceId` named `name`. */
async function spanOf(pred: (s: FlatSpan) => boolean, what: string): Promise<FlatSpan> {
  await collector.waitFor(() => collector.spans().some(pred), 15_000).catch(() => {
    throw new Error(`no span ${what}; have: ${collector.spans().map((s) => `${s.name}/${s.traceId}`).join(', ')}`);
  });
  return collector.spans().find(pred)!;
}

const byPath = (path: string) => (s: FlatSpan) => s.kind === 2 && String(attrs(s.attributes)['url.path']) === path;

before(async () => {
  collector = await startCollector();
  upstream = await startUpstream();
  mf = startWorkers([
    {
      name: 'app',
      scriptPath: fixture('app.mjs'),
      bindings: {
        UPSTREAM: upstream.url,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
        OTEL_SERVICE_NAME: 'shop-edge',
        OTEL_RESOURCE_ATTRIBUTES: 'team=checkout',
        DEPLOY_ENV: 'test',
      },
      serviceBindings: { SVC: 'echo' },
    },
    { name: 'echo', scriptPath: fixture('echo.mjs') },
    // The same app with AsyncLocalStorage (nodejs_compat), at als.example.
    {
      name: 'app-als',
      routes: ['als.example/*'],
      scriptPath: fixture('app.mjs'),
      compatibilityFlags: ['nodejs_compat'],
      bindings: { UPSTREAM: upstream.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'shop-edge-als', DEPLOY_ENV: 'test' },
    },
  ]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await upstream?.close();
  await collector?.close();
});

describe('fetch handler in workerd', () => {
  test('no traceparent: a new trace, a SERVER span with the semantic-convention attributes', async () => {
    const r = await get('/plain?q=1&sig=secret');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'plain ok');
    const s = await spanOf(byPath('/plain'), '/plain');
    assert.equal(s.kind, 2); // SERVER (OTLP enum)
    assert.equal(s.name, 'GET');
    assert.equal(s.parentSpanId, '');
    assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(s.traceId, TRACE);
    const a = attrs(s.attributes);
    assert.equal(a['http.request.method'], 'GET');
    assert.equal(a['url.full'], 'http://shop.example/plain?q=1&sig=REDACTED');
    assert.equal(a['url.scheme'], 'http');
    assert.equal(a['url.query'], 'q=1&sig=REDACTED'); // semconv: Conditionally Required on SERVER spans
    assert.equal(a['server.address'], 'shop.example');
    assert.equal(a['server.port'], '80');
    assert.equal(a['http.response.status_code'], '200');
    assert.equal(a['user_agent.original'], 'wasmtrace-test/1');
    assert.equal(a['faas.trigger'], 'http');
    assert.equal(typeof a['faas.coldstart'], 'boolean');
    assert.equal(typeof a['cloudflare.colo'], 'string'); // miniflare fills request.cf
    assert.equal(typeof a['geo.country.iso_code'], 'string');
    assert.equal(s.status.code, 0);
    assert.deepEqual(
      { sn: s.resource['service.name'], lang: s.resource['telemetry.sdk.language'], sdk: s.resource['telemetry.sdk.name'], cloud: s.resource['cloud.provider'], team: s.resource.team, env: s.resource['deployment.environment.name'] },
      { sn: 'shop-edge', lang: 'webjs', sdk: 'wasmtrace', cloud: 'cloudflare', team: 'checkout', env: 'test' },
    );
  });

  test('span times are real unix time in workerd (origin read inside the request)', async () => {
    const t0 = Date.now();
    const r = await get('/plain?times=1');
    const s = await spanOf((x) => String(attrs(x.attributes)['url.full']).endsWith('times=1'), 'times');
    const start = Number(BigInt(s.startTimeUnixNano) / 1_000_000n);
    const end = Number(BigInt(s.endTimeUnixNano) / 1_000_000n);
    assert.ok(start >= t0 - 5 && end <= r.at + 5, `span [${start}, ${end}] outside request [${t0}, ${r.at}]`);
    assert.ok(end >= start);
  });

  test('valid traceparent: the trace continues, tracestate is carried to the upstream, CLIENT span is a child', async () => {
    const r = await get('/upstream', { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: TRACESTATE });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as { traceparent: string; tracestate: string; url: string };
    const server = await spanOf((x) => x.kind === 2 && x.traceId === TRACE, 'server in continued trace');
    const client = await spanOf((x) => x.kind === 3 && x.traceId === TRACE, 'client in continued trace');
    assert.equal(server.parentSpanId, PARENT);
    assert.equal(server.traceState, TRACESTATE);
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(seen.traceparent, `00-${TRACE}-${client.spanId}-01`);
    assert.equal(seen.tracestate, TRACESTATE);
    const a = attrs(client.attributes);
    assert.equal(client.name, 'GET');
    assert.equal(a['http.request.method'], 'GET');
    assert.equal(a['url.full'], `${upstream.url}/echo?token=secret&sig=REDACTED`);
    assert.equal(a['server.address'], '127.0.0.1');
    assert.equal(a['server.port'], String(new URL(upstream.url).port));
    assert.equal(a['http.response.status_code'], '200');
    // The user's own header went through next to the injected ones.
    assert.equal(upstream.requests.at(-1)?.headers['x-mine'], 'kept');
  });

  for (const [why, traceparent] of [
    ['garbage', 'not-a-traceparent'],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['version 00 with extra field', `00-${TRACE}-${PARENT}-01-extra`],
  ] as const) {
    test(`invalid traceparent (${why}): a new trace, tracestate not passed on`, async () => {
      const r = await get('/upstream', { traceparent, tracestate: TRACESTATE });
      const seen = JSON.parse(r.body) as { traceparent: string; tracestate: string | null };
      assert.match(seen.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const traceId = seen.traceparent.split('-')[1]!;
      assert.notEqual(traceId, TRACE);
      assert.equal(seen.tracestate, null);
      const server = await spanOf((x) => x.kind === 2 && x.traceId === traceId, 'new-trace server');
      assert.equal(server.parentSpanId, '');
      assert.equal(server.traceState, '');
    });
  }

  test('a proxy that sends the incoming request on: the upstream gets the CLIENT span\'s traceparent with its own tracestate, never one the incoming traceparent or W3C rules left behind', async () => {
    const cases: Array<[string, Record<string, string>, string | null]> = [
      ['valid parent and tracestate', { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: TRACESTATE }, TRACESTATE],
      ['invalid parent', { traceparent: `00-${TRACE}-${'0'.repeat(16)}-01`, tracestate: TRACESTATE }, null],
      ['tracestate with a repeated key (dropped)', { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'a=1,a=2' }, null],
      ['tracestate alone', { tracestate: TRACESTATE }, null],
    ];
    for (const [why, headers, tracestate] of cases) {
      const r = await get('/proxy', headers);
      const seen = JSON.parse(r.body) as { traceparent: string; tracestate: string | null };
      assert.match(seen.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, why);
      assert.notEqual(seen.traceparent, headers.traceparent, `${why}: the CLIENT span's, not the incoming one`);
      assert.equal(seen.tracestate, tracestate, why);
      const client = await spanOf((x) => x.kind === 3 && x.spanId === seen.traceparent.split('-')[2], `${why}: client span`);
      assert.equal(client.traceState, tracestate ?? '', why);
    }
  });

  test('baggage: what the caller sent goes on to the upstream (properties kept), with or without a traceparent; none sent, none added', async () => {
    const cases: Array<[Record<string, string>, string | null]> = [
      [{ traceparent: `00-${TRACE}-${PARENT}-01`, baggage: 'user.id=alice;ttl=30, tier = gold%20plus' }, 'user.id=alice;ttl=30,tier=gold%20plus'],
      [{ baggage: 'user.id=bob' }, 'user.id=bob'],
      [{ traceparent: 'garbage', baggage: 'user.id=carol,"bad"=1' }, 'user.id=carol'],
      [{ baggage: '"only", junk' }, null],
      [{}, null],
    ];
    for (const [headers, want] of cases) {
      const r = await get('/upstream', headers);
      const seen = JSON.parse(r.body) as { baggage: string | null };
      assert.equal(seen.baggage, want, JSON.stringify(headers));
    }
  });

  test("with AsyncLocalStorage, after an await: the handler reads the caller's baggage and adds its own", async () => {
    const r = await get('/baggage', { traceparent: `00-${TRACE}-${PARENT}-01`, baggage: 'user.id=alice' }, 'als.example');
    const seen = JSON.parse(r.body) as { baggage: string | null; traceparent: string };
    assert.equal(seen.baggage, 'user.id=alice,cart.items=3%20items');
    assert.equal(seen.traceparent.split('-')[1], TRACE);
  });

  test("with AsyncLocalStorage, after an await: getActiveSpan() is the request's SERVER span and a new span is its child", async () => {
    const trace = 'c0ffee' + TRACE.slice(6);
    const r = await get('/child', { traceparent: `00-${trace}-${PARENT}-01` }, 'als.example');
    const ids = JSON.parse(r.body) as { traceId: string; spanId: string };
    assert.equal(ids.traceId, trace);
    const server = await spanOf((x) => x.kind === 2 && x.traceId === trace, 'server of /child');
    const work = await spanOf((x) => x.name === 'app.work' && x.spanId === ids.spanId, 'app.work');
    assert.equal(work.parentSpanId, server.spanId);
    assert.equal(attrs(server.attributes)['app.after_await'], true, 'getActiveSpan() after an await is the request span');
  });

  test('nested startActiveSpan across awaits: with AsyncLocalStorage its span parents what starts after them; without, no guess', async () => {
    for (const [host, chained] of [['als.example', true], [undefined, false]] as const) {
      const trace = (chained ? 'a1a1a1' : 'b2b2b2') + TRACE.slice(6);
      const r = await get('/nested', { traceparent: `00-${trace}-${PARENT}-01` }, host);
      const ids = JSON.parse(r.body) as { outer: string; leaf: string };
      const server = await spanOf((x) => x.kind === 2 && x.traceId === trace, 'server of /nested');
      const outer = await spanOf((x) => x.spanId === ids.outer, 'app.outer');
      const leaf = await spanOf((x) => x.spanId === ids.leaf, 'app.leaf');
      assert.equal(outer.parentSpanId, server.spanId, `${host}: outer under the request`);
      if (chained) assert.equal(leaf.parentSpanId, outer.spanId, 'leaf under outer after the awaits');
      else assert.equal(leaf.parentSpanId, '', 'no parent guessed after an await');
    }
  });

  test('without AsyncLocalStorage, after an await: no guess — a new trace, no active span (another request may be in flight)', async () => {
    const trace = 'beef00' + TRACE.slice(6);
    const r = await get('/child', { traceparent: `00-${trace}-${PARENT}-01` });
    const ids = JSON.parse(r.body) as { traceId: string; spanId: string };
    assert.notEqual(ids.traceId, trace);
    const server = await spanOf((x) => x.kind === 2 && x.traceId === trace, 'server of /child');
    const work = await spanOf((x) => x.name === 'app.work' && x.spanId === ids.spanId, 'app.work');
    assert.equal(work.parentSpanId, '');
    assert.equal(attrs(server.attributes)['app.after_await'], undefined);
    // The caller's baggage still goes on with the handler's fetch (its CLIENT span's parent is known).
    const b = await get('/upstream', { baggage: 'user.id=dave' });
    assert.equal((JSON.parse(b.body) as { baggage: string }).baggage, 'user.id=dave');
  });

  test("a finished request's waitUntil fetch, while another request is in flight, gets neither its parent nor its baggage", async () => {
    const slow = get('/slow', { traceparent: `00-${'ab'.repeat(16)}-${PARENT}-01`, baggage: 'user.id=bob' });
    await new Promise((r) => setTimeout(r, 50));
    const bg = await get('/bg', { traceparent: `00-${'cd'.repeat(16)}-${PARENT}-01`, baggage: 'user.id=alice' });
    assert.equal(bg.body, 'bg');
    await slow;
    const deadline = Date.now() + 3000;
    let late: (typeof upstream.requests)[number] | undefined;
    while (!(late = upstream.requests.find((q) => q.url.includes('bg=1'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(late, 'the waitUntil fetch ran');
    assert.ok(!String(late.headers.traceparent ?? '').includes('ab'.repeat(16)), `parented to the other request: ${late.headers.traceparent}`);
    assert.notEqual(late.headers.baggage, 'user.id=bob', "the other request's baggage");
    assert.equal(upstream.requests.find((q) => q.url.includes('slow=1'))?.headers.baggage, 'user.id=bob');
  });

  test('a future version is read by its first four fields', async () => {
    const r = await get('/upstream', { traceparent: `01-${TRACE.replace('0a', '1b')}-${PARENT}-01-future` });
    const seen = JSON.parse(r.body) as { traceparent: string };
    assert.equal(seen.traceparent.split('-')[1], TRACE.replace('0a', '1b'));
  });

  test('unsampled caller: nothing exported, the decision passed on with the same trace', async () => {
    const trace = 'aaaa651916cd43dd8448eb211c80319c';
    const r = await get('/upstream', { traceparent: `00-${trace}-${PARENT}-00` });
    const seen = JSON.parse(r.body) as { traceparent: string };
    assert.match(seen.traceparent, new RegExp(`^00-${trace}-[0-9a-f]{16}-00$`));
    assert.notEqual(seen.traceparent.split('-')[2], PARENT);
    await get('/plain?after-unsampled=1'); // its export comes later than the unsampled one would have
    await spanOf((x) => String(attrs(x.attributes)['url.full']).endsWith('after-unsampled=1'), 'later span');
    assert.equal(collector.spans().filter((x) => x.traceId === trace).length, 0);
  });

  test('service binding fetch is a CLIENT child with traceparent injected', async () => {
    const r = await get('/binding', { traceparent: `00-${TRACE.replace('0af7', 'b1b1')}-${PARENT}-01` });
    const trace = TRACE.replace('0af7', 'b1b1');
    const seen = JSON.parse(r.body) as { traceparent: string };
    const server = await spanOf((x) => x.kind === 2 && x.traceId === trace, 'binding server');
    const client = await spanOf((x) => x.kind === 3 && x.traceId === trace, 'binding client');
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(seen.traceparent, `00-${trace}-${client.spanId}-01`);
    assert.equal(attrs(client.attributes)['url.full'], 'http://svc.internal/hello');
  });

  test('http.route names the span; getSpan(request) reaches it', async () => {
    await get('/route');
    const s = await spanOf(byPath('/route'), '/route');
    assert.equal(s.name, 'GET /route');
    assert.equal(attrs(s.attributes)['http.route'], '/route');
    assert.equal(attrs(s.attributes)['app.custom'], 'yes');
  });

  test('a thrown exception: recorded on an ERROR span, rethrown, the runtime answers 500', async () => {
    const r = await get('/throw');
    assert.equal(r.status, 500);
    const s = await spanOf(byPath('/throw'), '/throw');
    assert.equal(s.status.code, 2);
    assert.equal(s.status.message, 'boom in handler');
    const ev = s.events.find((e) => e.name === 'exception');
    assert.ok(ev, 'exception event');
    assert.equal(attrs(ev.attributes)['exception.message'], 'boom in handler');
    assert.equal(attrs(ev.attributes)['exception.type'], 'Error');
    assert.equal(attrs(s.attributes)['error.type'], 'Error');
  });

  test('a 5xx response is an ERROR server span; a 404 is not', async () => {
    await get('/fail');
    await get('/nothing-here');
    const fail = await spanOf(byPath('/fail'), '/fail');
    const missing = await spanOf(byPath('/nothing-here'), '/nothing-here');
    assert.equal(fail.status.code, 2);
    assert.equal(attrs(fail.attributes)['error.type'], '503');
    assert.equal(missing.status.code, 0);
    assert.equal(attrs(missing.attributes)['http.response.status_code'], '404');
  });

  test("spans ended in the handler's own waitUntil work are exported too", async () => {
    const r = await get('/later', { traceparent: `00-${TRACE.replace('0af7', 'c2c2')}-${PARENT}-01` });
    assert.equal(r.body, 'later');
    const trace = TRACE.replace('0af7', 'c2c2');
    const client = await spanOf((x) => x.kind === 3 && x.traceId === trace, 'waitUntil client');
    assert.equal(attrs(client.attributes)['url.full'], `${upstream.url}/echo?later=1`);
  });

  test('the export leaves after the response is made, and the response does not wait for it', async () => {
    const before = collector.requests.length;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    collector.setRespond(async () => {
      await gate; // the collector holds its answer until the response has arrived
      return {};
    });
    try {
      const r = await get('/plain?gated=1');
      assert.equal(r.status, 200);
      const doneAt = Number(r.headers.get('x-done-at'));
      await collector.waitFor(() => collector.requests.length > before, 5000);
      const exp = collector.requests.slice(before).find((q) => q.decoded && q.decoded.resourceSpans.length > 0)!;
      assert.ok(exp.receivedAt >= doneAt, `export received at ${exp.receivedAt}, response made at ${doneAt}`);
    } finally {
      release();
      collector.setRespond(() => ({}));
    }
  });

  test('every exported body decodes with the independent decoder', async () => {
    assert.ok(collector.requests.length > 0);
    for (const q of collector.requests) {
      assert.equal(q.error, undefined, `decode error: ${q.error}`);
      assert.equal(q.headers['content-type'], 'application/x-protobuf');
      assert.ok(q.decoded);
    }
  });
});

describe('scheduled and queue handlers in workerd', () => {
  test('scheduled: a SERVER span (semconv FaaS timer) with faas.trigger=timer and its fetch as a child', async () => {
    const w = await mf.getWorker('app');
    await w.scheduled({ cron: '*/5 * * * *', scheduledTime: new Date(1_767_225_600_000) });
    const s = await spanOf((x) => x.name === 'scheduled */5 * * * *', 'scheduled');
    assert.equal(s.kind, 2); // SERVER (OTLP enum): semconv's span.faas.timer.server
    const a = attrs(s.attributes);
    assert.equal(a['faas.trigger'], 'timer');
    assert.equal(a['faas.cron'], '*/5 * * * *');
    assert.equal(a['faas.time'], '2026-01-01T00:00:00.000Z');
    const child = await spanOf((x) => x.kind === 3 && x.traceId === s.traceId, 'cron fetch');
    assert.equal(child.parentSpanId, s.spanId);
  });

  test('queue: a CONSUMER span with the messaging attributes', async () => {
    const w = await mf.getWorker('app');
    await w.queue('orders', [
      { id: 'm1', timestamp: new Date(), body: { n: 1 }, attempts: 1 },
      { id: 'm2', timestamp: new Date(), body: { n: 2 }, attempts: 1 },
    ]);
    const s = await spanOf((x) => x.name === 'process orders', 'queue');
    assert.equal(s.kind, 5); // CONSUMER
    const a = attrs(s.attributes);
    assert.equal(a['faas.trigger'], 'pubsub');
    assert.equal(a['messaging.system'], 'cloudflare_queues');
    assert.equal(a['messaging.operation.name'], 'process'); // Required
    assert.equal(a['messaging.operation.type'], 'process');
    assert.equal(a['messaging.destination.name'], 'orders');
    assert.equal(a['messaging.batch.message_count'], '2');
    const child = await spanOf((x) => x.kind === 3 && x.traceId === s.traceId, 'queue fetch');
    assert.equal(child.parentSpanId, s.spanId);
  });
});
