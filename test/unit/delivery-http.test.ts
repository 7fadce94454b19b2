// Delivery over OTLP/HTTP against a real node:http collector on 127.0.0.1,
// through the public API (init → startSpan → end → flush).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SUCCESS_ANSWERS, startCollector, startEndlessBody, partialSuccessBody, type Reply } from '../helpers/collector.js';
import { decodeProtobuf, decodeJson, allSpans } from '../helpers/otlp.js';
import { endSpans, flakyPort, received, sleep, storedBatches, tracerFor, uniqueIds, watchFetch, assertDecoded } from './delivery-harness.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';

test('success: one protobuf request, gzip, every span once', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url);
  endSpans(tracer, 5);
  assert.deepEqual(await tracer.flush(), { sent: 5, queued: 0, dropped: 0 });
  assert.equal(c.requests.length, 1);
  const r = c.requests[0]!;
  assert.equal(r.headers['content-type'], 'application/x-protobuf');
  assert.equal(r.headers['content-encoding'], 'gzip', 'no CORS outside a page: gzip by default');
  assert.deepEqual([r.rawBody[0], r.rawBody[1]], [0x1f, 0x8b]);
  assert.equal(r.error, undefined);
  const spans = allSpans(decodeProtobuf(r.body));
  assert.deepEqual(spans.map((s) => s.name).sort(), ['op-0', 'op-1', 'op-2', 'op-3', 'op-4']);
  assert.equal(spans[0]!.resource['service.name'], 'delivery-test');
  assert.deepEqual(await tracer.flush(), { sent: 0, queued: 0, dropped: 0 }, 'nothing left');
  assert.equal(c.requests.length, 1);
});

test('OTLP/JSON by option, and compression off by option', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url, { protocol: 'http/json', compression: 'none' });
  endSpans(tracer, 3);
  assert.deepEqual(await tracer.flush(), { sent: 3, queued: 0, dropped: 0 });
  const r = c.requests[0]!;
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(allSpans(decodeJson(r.rawBody)).length, 3);
});

test('configured headers are sent', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url, { headers: { authorization: 'Bearer abc', 'x-tenant': 't1' } });
  endSpans(tracer, 1);
  await tracer.flush();
  assert.equal(c.requests[0]!.headers.authorization, 'Bearer abc');
  assert.equal(c.requests[0]!.headers['x-tenant'], 't1');
});

test('503 then 200 with Retry-After: the delay is honoured', async (t) => {
  const c = await startCollector({ respond: (_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '1' } } : {}) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url, { retryInitialDelayMs: 10 });
  endSpans(tracer, 4);
  assert.deepEqual(await tracer.flush(), { sent: 0, queued: 4, dropped: 0 });
  await c.waitFor(() => c.requests.length === 2, 5000);
  const gap = c.requests[1]!.receivedAt - c.requests[0]!.receivedAt;
  assert.ok(gap >= 990, `retried after ${gap} ms, Retry-After said 1 s`);
  assert.equal(uniqueIds(received(c).user), 4);
  assert.deepEqual(c.requests[1]!.rawBody, c.requests[0]!.rawBody, 'the same batch again');
  const after = await tracer.flush(); // waits for the retry's answer if it is still on its way
  assert.deepEqual([after.queued, after.dropped], [0, 0]);
});

test('Retry-After of several digits, or a date far ahead, is honoured up to retryMaxDelayMs', async () => {
  let seed = 0x2a;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const cap = 400;
  const values = [String(10 + rnd(90)), String(100 + rnd(9900)), ` ${1000 + rnd(99_000)} `, new Date(Date.now() + 3_600_000 + rnd(86_400_000)).toUTCString()];
  await Promise.all(values.map(async (value) => {
    const c = await startCollector({ respond: (_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': value } } : {}) });
    try {
      const tracer = await tracerFor(c.url, { retryInitialDelayMs: 10, retryMaxDelayMs: cap });
      endSpans(tracer, 3);
      await tracer.flush();
      await c.waitFor(() => c.requests.length === 2, 5000);
      // The backoff alone would retry within 10 ms; Retry-After alone, in 10 s or more.
      const gap = c.requests[1]!.receivedAt - c.requests[0]!.receivedAt;
      assert.ok(gap >= cap - 20 && gap < cap + 800, `Retry-After ${value}: retried after ${gap} ms, the cap is ${cap} ms`);
      assert.equal(uniqueIds(received(c).user), 3);
      await tracer.shutdown();
      assertDecoded(c);
    } finally {
      await c.close();
    }
  }));
});

test('429 is retried with backoff', async (t) => {
  const c = await startCollector({ respond: (_r, i) => (i < 2 ? { status: 429 } : {}) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url, { retryInitialDelayMs: 50 });
  endSpans(tracer, 2);
  await tracer.flush();
  await c.waitFor(() => c.requests.length === 3, 5000);
  const gaps = [1, 2].map((i) => c.requests[i]!.receivedAt - c.requests[i - 1]!.receivedAt);
  assert.ok(gaps[0]! >= 20 && gaps[1]! >= 45, `backoff gaps ${gaps.join(', ')} ms`);
  assert.equal(uniqueIds(received(c).user), 2);
});

test('400 is not retried; the loss is reported on the next export', async (t) => {
  const c = await startCollector({ respond: (_r, i) => (i === 0 ? { status: 400 } : {}) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url);
  endSpans(tracer, 3);
  assert.deepEqual(await tracer.flush(), { sent: 0, queued: 0, dropped: 3 });
  await sleep(200); // ten retry delays
  assert.equal(c.requests.length, 1, 'no retry');
  const r = await tracer.flush();
  assert.equal(r.sent, 1, 'the wasmtrace.dropped span');
  assert.deepEqual(received(c).dropped, [{ reason: 'rejected', spans: 3 }]);
});

test('partial success: rejected spans are counted and reported', async (t) => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    const format = protocol === 'http/json' ? 'json' : 'protobuf';
    const c = await startCollector({ respond: (_r, i) => (i === 0 ? { body: partialSuccessBody(format, 2, 'bad') } : {}) });
    t.after(() => c.close());
  t.after(() => assertDecoded(c));
    const tracer = await tracerFor(c.url, { protocol });
    endSpans(tracer, 5);
    assert.deepEqual(await tracer.flush(), { sent: 3, queued: 0, dropped: 2 }, protocol);
    await tracer.flush();
    assert.deepEqual(received(c).dropped, [{ reason: 'partial-success', spans: 2 }], protocol);
  }
});

test('a 2xx with no body, an empty one or another format\'s: sent once, nothing dropped or retried (12 cases)', async (t) => {
  let reply: Reply = {};
  const c = await startCollector({ respond: () => reply });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const answers: (readonly [string, Reply])[] = [...SUCCESS_ANSWERS, ['202, empty', { status: 202, body: '' }], ['200, null', { body: 'null' }]];
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    for (const [answer, r] of answers) {
      const label = `${protocol}, ${answer}`;
      reply = r;
      const before = c.requests.length;
      const tracer = await tracerFor(c.url, { protocol, retryInitialDelayMs: 20 });
      endSpans(tracer, 4);
      assert.deepEqual(await tracer.flush(), { sent: 4, queued: 0, dropped: 0 }, label);
      await sleep(100); // five retry delays
      assert.equal(c.requests.length - before, 1, `${label}: no retry`);
      await tracer.shutdown();
    }
  }
});

test('partial success, generated: a negative count rejects none, its error_message is named once with debug, bounded; never retried', async (t) => {
  const warned: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a.map(String).join(' ')));
  const r = prng(415);
  let reply = (): string | Uint8Array => '';
  // The answer to a request with the case's spans; one with drop reports only is taken whole.
  const c = await startCollector({ respond: (req) => (req.decoded && allSpans(req.decoded).some((s) => s.name.startsWith('ps')) ? { body: reply() } : {}) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  let rejectedAll = 0;
  for (let i = 0; i < 16; i++) {
    const protocol = i % 2 ? 'http/json' : 'http/protobuf';
    const spans = 2 + Math.floor(r() * 20);
    // Negative (a broken collector), none (a warning: OTLP allows a message with 0), or some.
    const count = [-1 - Math.floor(r() ** 2 * 2 ** 40), 0, 1 + Math.floor(r() * (spans - 1))][i % 3]!;
    // A message per case (so each is new to debugOnce), sometimes long, with control characters.
    const message = `case ${i}:\u001b[2J why\n` + (i % 4 === 3 ? 'x'.repeat(2000) : 'spans refused');
    reply = () => partialSuccessBody(protocol === 'http/json' ? 'json' : 'protobuf', count, message);
    const tracer = await tracerFor(c.url, { protocol, debug: true });
    const rejected = Math.max(0, count);
    for (let round = 0; round < 2; round++) {
      endSpans(tracer, spans, `ps${i}.${round}`);
      const requests = c.requests.length;
      // The second batch carries the first one's drop report.
      const report = round && rejected ? 1 : 0;
      assert.deepEqual(await tracer.flush(), { sent: spans + report - rejected, queued: 0, dropped: rejected }, `case ${i}: ${count} of ${spans}`);
      assert.equal(c.requests.length, requests + 1, `case ${i}: not retried`);
      rejectedAll += rejected;
    }
    assert.equal(tracer.stats().droppedRejected, 2 * Math.max(0, count), `case ${i}`);
    await tracer.shutdown();
    const lines = warned.filter((w) => w.includes(`case ${i}:`));
    const invalid = count < 0 ? ' (an invalid count: none counted rejected)' : '';
    const shown = `case ${i}: [2J why ${i % 4 === 3 ? 'x'.repeat(2000) : 'spans refused'}`.slice(0, 512);
    assert.deepEqual(lines, [`[wasmtrace] export to ${c.url}: partial success${invalid}: ${shown}`], `case ${i}: once, two answers alike`);
  }
  const reports = received(c).dropped.filter((d) => d.reason === 'partial-success');
  assert.equal(reports.reduce((n, d) => n + d.spans, 0), rejectedAll, 'only the counts that are counts reported');
});

/** A collector that takes no gzip: 415 to a gzip body, `plain(i)` (default 200) to the i-th uncompressed one. */
const noGzip = (plain: (i: number) => Reply = () => ({})) => {
  let n = 0;
  return startCollector({ respond: (req) => (req.headers['content-encoding'] === 'gzip' ? { status: 415 } : plain(n++)) });
};

test('415 to gzip bodies (generated): each batch is sent again uncompressed at once, no later one is compressed, nothing lost or twice', async (t) => {
  const r = prng(4150);
  const c = await noGzip();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  let several = 0;
  for (let i = 0; i < 12; i++) {
    const from = c.requests.length;
    const protocol = i % 3 === 2 ? 'http/json' : 'http/protobuf';
    const area = i % 2 ? createStorageArea() : null;
    // Small batches (maxExportBatchSize) so that several are compressed and queued before the first 415 is read.
    const tracer = await tracerFor(c.url, { protocol, storage: area?.open() ?? null, maxExportBatchSize: 1 + Math.floor(r() * 30), maxConcurrentRequests: 1 + Math.floor(r() * 3), maxAttempts: 1 });
    const rounds = Array.from({ length: 1 + Math.floor(r() * 3) }, () => 1 + Math.floor(r() * 60));
    for (const [k, n] of rounds.entries()) {
      const at = c.requests.length;
      endSpans(tracer, n, `g${i}.${k}`, Math.floor(r() * 200));
      assert.deepEqual(await tracer.flush(), { sent: n, queued: 0, dropped: 0 }, `case ${i} round ${k}`);
      if (k > 0) assert.ok(c.requests.slice(at).every((q) => !q.headers['content-encoding']), `case ${i} round ${k}: compression is off`);
    }
    await tracer.shutdown();
    const mine = c.requests.slice(from);
    const label = `case ${i}: ${mine.map((q) => q.headers['content-encoding'] ?? '-').join(',')}`;
    const gz = mine.filter((q) => q.headers['content-encoding'] === 'gzip');
    assert.ok(gz.length >= 1, label);
    if (gz.length > 1) several++;
    // Each refused gzip body went again, the same bytes uncompressed.
    for (const q of gz) assert.ok(mine.some((p) => !p.headers['content-encoding'] && p.body.equals(q.body) && p.receivedAt >= q.receivedAt), label);
    assert.equal(mine.length - gz.length, new Set(mine.map((q) => q.body.toString('hex'))).size, `${label}: nothing else twice`);
    const names = mine.filter((q) => !q.headers['content-encoding']).flatMap((q) => allSpans(q.decoded!).map((s) => s.name));
    assert.equal(names.length, rounds.reduce((a, b) => a + b, 0), label);
    assert.equal(new Set(names).size, names.length, `${label}: every span once`);
    assert.equal(tracer.stats().droppedRejected, 0, label);
    if (area) assert.deepEqual(storedBatches(area), [], `${label}: storage emptied`);
  }
  assert.ok(several >= 3, `${several} cases had several gzip batches refused`);
});

test('415 to an uncompressed body is a rejection: dropped, not retried (gzip off, or a batch already sent again uncompressed)', async (t) => {
  const warned: string[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => void warned.push(a.map(String).join(' ')));
  const c = await noGzip(() => ({ status: 415 }));
  t.after(() => c.close());
  for (const compression of ['none', 'gzip'] as const) {
    const from = c.requests.length;
    const tracer = await tracerFor(c.url, { compression, debug: true });
    endSpans(tracer, 4, compression);
    assert.deepEqual(await tracer.flush(), { sent: 0, queued: 0, dropped: 4 }, compression);
    await sleep(100); // five retry delays
    const encodings = c.requests.slice(from).map((q) => q.headers['content-encoding'] ?? '-');
    assert.deepEqual(encodings, compression === 'gzip' ? ['gzip', '-'] : ['-'], compression);
    await tracer.shutdown();
  }
  assert.deepEqual(warned.filter((w) => w.includes(c.url)), [
    `[wasmtrace] export to ${c.url} failed: HTTP 415; dropped`,
    `[wasmtrace] export to ${c.url} failed: HTTP 415; sent again uncompressed`,
  ]);
});

test('415 to a gzip body, then a retryable failure: the batch waits in storage uncompressed, and goes so', async (t) => {
  const c = await noGzip((i) => (i === 0 ? { status: 503 } : {}));
  t.after(() => c.close());
  const area = createStorageArea();
  const tracer = await tracerFor(c.url, { storage: area.open(), retryInitialDelayMs: 60_000 });
  endSpans(tracer, 5, 'w', 100);
  assert.deepEqual(await tracer.flush(), { sent: 0, queued: 5, dropped: 0 });
  assert.deepEqual(c.requests.map((q) => [q.headers['content-encoding'] ?? '-', q.body.length]), [['gzip', c.requests[1]!.body.length], ['-', c.requests[1]!.body.length]]);
  const stored = area.entries().filter(([k]) => k.startsWith('wasmtrace:q:'));
  assert.equal(stored.length, 1);
  assert.match(stored[0]![1], /^W1,p,-,5,/, 'stored uncompressed');
  assert.ok(storedBatches(area)[0]!.body!.every((b, j) => b === c.requests[1]!.body[j]), 'the bytes it sent');
  assert.deepEqual(await tracer.shutdown(), { sent: 5, queued: 0, dropped: 0 });
  assert.equal(c.requests[2]!.headers['content-encoding'], undefined);
  assert.equal(uniqueIds(received(c).user), 5);
  assert.deepEqual(storedBatches(area), []);
});

test('a collector that is down, then up: nothing lost, nothing twice', async (t) => {
  const port = await flakyPort();
  t.after(() => port.close());
  const tracer = await tracerFor(port.url, { retryInitialDelayMs: 100, maxAttempts: 30 });
  endSpans(tracer, 10);
  assert.deepEqual(await tracer.flush(), { sent: 0, queued: 10, dropped: 0 });
  endSpans(tracer, 5, 'later');
  assert.deepEqual(await tracer.flush(), { sent: 0, queued: 15, dropped: 0 });
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  await port.up(c);
  await c.waitFor(() => received(c).user.length >= 15, 8000);
  const after = await tracer.flush();
  assert.deepEqual([after.queued, after.dropped], [0, 0]);
  const { user } = received(c);
  assert.equal(user.length, 15);
  assert.equal(uniqueIds(user), 15);
});

test('a retry chain that ends parks the batch; the next success revives it', async (t) => {
  const port = await flakyPort();
  t.after(() => port.close());
  const tracer = await tracerFor(port.url, { retryInitialDelayMs: 10, maxAttempts: 3 });
  const watch = watchFetch();
  t.after(() => watch.restore());
  endSpans(tracer, 4);
  await tracer.flush();
  await sleep(300);
  assert.equal(watch.calls.length, 3, 'maxAttempts bounds the retry chain');
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  await port.up(c);
  await sleep(200);
  assert.equal(c.requests.length, 0, 'parked: the collector is not stormed');
  endSpans(tracer, 1, 'fresh');
  const r = await tracer.flush();
  assert.equal(r.sent, 5, 'the success revived the parked batch within the same flush');
  assert.equal(uniqueIds(received(c).user), 5);
});

test('a collector that hangs: the request times out and is retried', async (t) => {
  const c = await startCollector({ respond: (_r, i) => (i === 0 ? { hang: true } : {}) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url, { timeoutMs: 300, retryInitialDelayMs: 10 });
  endSpans(tracer, 3);
  const started = Date.now();
  const r = await tracer.flush();
  assert.ok(Date.now() - started >= 290, 'flush waited for the timeout');
  assert.deepEqual(r, { sent: 0, queued: 3, dropped: 0 });
  await c.waitFor(() => c.requests.length === 2, 5000);
  const after = await tracer.flush();
  assert.deepEqual([after.queued, after.dropped], [0, 0]);
  assert.equal(uniqueIds(received(c).user), 3);
});

test('requests started within a second share one abort deadline; later ones get their own', async () => {
  const signals: AbortSignal[] = [];
  const tracer = await tracerFor('http://127.0.0.1:9/v1/traces', {
    transport: async (_body, meta) => {
      if (meta.signal) signals.push(meta.signal);
      return { status: 200 };
    },
  });
  for (let i = 0; i < 3; i++) {
    endSpans(tracer, 1);
    assert.equal((await tracer.flush()).sent, 1);
  }
  await sleep(1100); // past the 1 s slack of the default 10 s timeout
  endSpans(tracer, 1);
  await tracer.flush();
  assert.equal(signals.length, 4, 'every request gets a signal');
  assert.equal(new Set(signals.slice(0, 3)).size, 1, 'one controller for requests close together');
  assert.notEqual(signals[3], signals[0], 'a fresh one after the slack');
  assert.ok(signals.every((s) => !s.aborted), 'none aborted before its timeout');
  await tracer.shutdown();
});

test('requests in flight are bounded', async (t) => {
  let open = 0;
  let maxOpen = 0;
  const c = await startCollector({
    respond: async () => {
      maxOpen = Math.max(maxOpen, ++open);
      await sleep(30);
      open--;
      return {};
    },
  });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const tracer = await tracerFor(c.url, { maxConcurrentRequests: 2, compression: 'none' });
  endSpans(tracer, 1500, 'op', 100); // ~200 KB: several bodies
  const r = await tracer.flush();
  assert.equal(r.sent, 1500);
  assert.ok(c.requests.length >= 4, `${c.requests.length} requests`);
  assert.ok(maxOpen <= 2, `${maxOpen} requests at once`);
});

test('a page: keepalive bodies stay under the 64 KiB budget for batches of every size', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const watch = watchFetch();
  t.after(() => watch.restore());
  for (const [n, pad] of [[1, 0], [7, 3000], [100, 0], [511, 40], [512, 200], [513, 0], [1500, 120], [2, 50_000]] as const) {
    const tracer = await tracerFor(c.url, { compression: 'none', maxConcurrentRequests: 4 }, true);
    const before = c.requests.length;
    endSpans(tracer, n, `n${n}`, pad);
    assert.equal((await tracer.flush()).sent, n, `${n} spans of ${pad} B`);
    const bodies = c.requests.slice(before);
    for (const r of bodies) assert.ok(r.rawBody.length <= 65_536, `${r.rawBody.length} B body`);
    assert.equal(bodies.reduce((k, r) => k + allSpans(r.decoded!).length, 0), n);
  }
  assert.ok(watch.calls.every((o) => o.keepalive));
  assert.ok(watch.maxKeepaliveInFlight() <= 65_536, `${watch.maxKeepaliveInFlight()} B in flight`);
});

test('response bodies are always read or cancelled', async (t) => {
  const c = await startCollector({
    respond: (_r, i) => (i === 0 ? { status: 503, body: 'x'.repeat(10_000) } : i === 1 ? { status: 400, body: 'bad' } : {}),
  });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const watch = watchFetch();
  t.after(() => watch.restore());
  const tracer = await tracerFor(c.url, { retryInitialDelayMs: 10 });
  endSpans(tracer, 2);
  await tracer.flush(); // 503
  await c.waitFor(() => c.requests.length === 2); // 400 on the retry
  endSpans(tracer, 2);
  await tracer.flush(); // 200, plus the report of the 400
  await sleep(50);
  const responses = watch.calls.map((o) => o.response);
  assert.ok(responses.length >= 3);
  for (const res of responses) {
    assert.ok(res, 'every request answered');
    assert.equal(res.bodyUsed, true, `status ${res.status}: body read or cancelled`);
  }
  assert.deepEqual(responses.slice(0, 3).map((r) => r!.status), [503, 400, 200]);
});

test('a 200 with an endless body: at most 4 MiB of it is read (OTLP: the client MUST bound a response), the batch is sent, not retried', async (t) => {
  const srv = await startEndlessBody(t);
  const tracer = await tracerFor(srv.url, { retryInitialDelayMs: 10 });
  endSpans(tracer, 2);
  const t0 = performance.now();
  assert.deepEqual(await tracer.flush(), { sent: 2, queued: 0, dropped: 0 });
  const took = performance.now() - t0;
  assert.ok(took < 1500, `flush took ${Math.round(took)} ms (${srv.written()} bytes written)`);
  assert.equal(srv.requests(), 1);
  // The bound itself: 4 MiB read, plus what the socket buffers hold here (send 4 MiB, receive up
  // to 32 MiB: net.ipv4.tcp_wmem, tcp_rmem), 9-20 MB seen; reading on for the 1 s any body may take: 66-112 MB.
  const written = await srv.closed();
  assert.ok(written < 48 << 20, `the connection closed after ${written} bytes written`);
});
