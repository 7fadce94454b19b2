// The Workers delivery's export window (worker/export.ts): the invocations of
// an isolate that end within `delayMs` of the first share one export, held
// by the first one's waitUntil; nothing is sent twice or left behind. Timers
// and the clock are the test's, so each schedule runs the same every time.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createDelivery, fetchTransport } from '../../worker/export.js';
import { setClock } from '../../src/clock.js';
import type { Encoded, SpanSource, Transport, TransportResponse } from '../../src/export/types.js';
import { gunzipSync } from 'node:zlib';
import { startEndlessBody } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

let clock = 0;
setClock(() => clock, 0);

/**
 * Spans as numbers: `end(n)` puts n ended spans in the buffer, an export
 * drains them (at most 100 a body), and `sent` lists each exported span once
 * per time it was sent.
 */
function harness(delayMs: number, answer = 200, respond?: (spans: number[]) => TransportResponse, bytesPerSpan = 1) {
  let status = answer;
  let next = 0;
  let buffered: number[] = [];
  const sent: number[] = [];
  const exports: number[][] = [];
  /** The span numbers each drained body carries. */
  const carried = new WeakMap<Uint8Array, number[]>();
  const source: SpanSource = {
    contentType: 'application/x-protobuf',
    pending: () => buffered.length,
    drain(): Encoded | null {
      if (buffered.length === 0) return null;
      const taken = buffered.slice(0, 100);
      buffered = buffered.slice(100);
      const body = new Uint8Array(taken.length * bytesPerSpan);
      carried.set(body, taken);
      return { body, spans: taken.length };
    },
    commit: () => {}, // drain() takes its spans at once
    stats: () => ({ droppedSpans: 0, droppedData: 0, droppedOversize: 0, held: 0 }),
  };
  const send: Transport = async (body) => {
    const ids = carried.get(body as Uint8Array) ?? [];
    exports.push(ids);
    if (respond) return respond(ids);
    if (status === 200) sent.push(...ids);
    return { status };
  };
  const delivery = createDelivery(source, send, delayMs, 100);
  return {
    delivery,
    sent,
    exports,
    /** An invocation that made `n` spans ends; returns what it would hand to waitUntil. */
    end(n: number) {
      for (let i = 0; i < n; i++) buffered.push(next++);
      return delivery.ended();
    },
    made: () => next,
    buffered: () => buffered.length,
    /** What the collector answers from now on. */
    answer(s: number) {
      status = s;
    },
  };
}

/** Lets the promise chains run after timers fired. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function fakeTimers(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  return async (ms: number) => {
    clock += ms;
    t.mock.timers.tick(ms);
    await settle();
  };
}

test('invocations that end within the window share the first one\'s export; the next one opens a new window', async (t) => {
  const advance = fakeTimers(t);
  const h = harness(100);
  const first = h.end(3);
  assert.ok(first instanceof Promise, 'the first invocation holds the export');
  await advance(40);
  assert.equal(h.end(2), undefined, 'a second invocation within the window waits for nothing');
  await advance(40);
  assert.equal(h.end(4), undefined);
  assert.equal(h.exports.length, 0, 'nothing leaves before the window closes');
  await advance(20);
  const r = await first;
  assert.deepEqual(h.exports, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]);
  assert.deepEqual(r, { sent: 9, queued: 0, dropped: 0 });
  const again = h.end(1);
  assert.ok(again instanceof Promise, 'after the export a new window opens');
  await advance(100);
  await again;
  assert.deepEqual(h.exports, [[0, 1, 2, 3, 4, 5, 6, 7, 8], [9]]);
});

test('delay 0 exports each invocation on its own, at once', async () => {
  const h = harness(0);
  await h.end(2);
  await h.end(3);
  assert.deepEqual(h.exports, [[0, 1], [2, 3, 4]]);
});

test('512 spans waiting: the invocation exports at once, window or not', async (t) => {
  const advance = fakeTimers(t);
  const h = harness(100);
  const windowed = h.end(1);
  const now = h.end(600);
  assert.ok(now instanceof Promise);
  await settle();
  assert.equal(h.sent.length, 601, 'exported without waiting for the window');
  await advance(100);
  await windowed;
  assert.equal(h.exports.length, 7, 'the window\'s own export found nothing more to send');
});

test('a window whose timer never fired (its invocation was cancelled) is given up after 1 s: the next invocation opens its own', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const h = harness(100);
  assert.ok(h.end(1) instanceof Promise);
  t.mock.timers.reset(); // its timer is gone: as if workerd cancelled its invocation
  t.mock.timers.enable({ apis: ['setTimeout'] });
  clock += 100 + 999;
  assert.equal(h.end(1), undefined, 'still within its time');
  clock += 2;
  const own = h.end(1);
  assert.ok(own instanceof Promise, 'a new window after the lost one');
  clock += 100;
  t.mock.timers.tick(100);
  await settle();
  assert.deepEqual(await own, { sent: 3, queued: 0, dropped: 0 }, 'the new export carries the spans the lost one would have');
  assert.deepEqual(h.exports, [[0, 1, 2]]);
});

test('400 generated schedules: every span is exported exactly once, in at most one export per window', async (t) => {
  const advance = fakeTimers(t);
  const r = prng(0x51de);
  for (let schedule = 0; schedule < 400; schedule++) {
    const delay = [0, 5, 50, 100][Math.floor(r() * 4)]!;
    const h = harness(delay);
    const held: Array<Promise<unknown>> = [];
    let windows = 0;
    const steps = 1 + Math.floor(r() * 30);
    for (let i = 0; i < steps; i++) {
      const p = h.end(Math.floor(r() * 5) + (r() < 0.02 ? 600 : 0));
      if (p) {
        held.push(p);
        windows++;
      }
      await advance(Math.floor(r() * 3 * (delay + 1)));
    }
    await advance(delay + 1);
    await Promise.all(held);
    const what = `schedule ${schedule} (delay ${delay}, ${steps} invocations)`;
    assert.equal(h.buffered(), 0, `${what}: spans left behind`);
    assert.deepEqual([...h.sent].sort((a, b) => a - b), Array.from({ length: h.made() }, (_, i) => i), `${what}: each span once`);
    // A body carries at most 100 spans here: more exports than that are windows opened needlessly.
    assert.ok(h.exports.filter((e) => e.length > 0).length <= windows + Math.ceil(h.made() / 100), `${what}: ${h.exports.length} exports for ${windows} windows`);
  }
});

test('a collector that is down: the batches wait in memory and leave with the next window\'s export', async (t) => {
  const advance = fakeTimers(t);
  const h = harness(100, 503);
  const first = h.end(2);
  await advance(100);
  assert.deepEqual(await first, { sent: 0, queued: 2, dropped: 0 });
  assert.equal(h.sent.length, 0);
  h.answer(200);
  // The next window's export comes after the backoff (at most 1 s after a first failure).
  await advance(1000);
  const next = h.end(1);
  await advance(100);
  assert.deepEqual(await next, { sent: 3, queued: 0, dropped: 0 });
  assert.deepEqual([...h.sent].sort(), [0, 1, 2], 'the kept batch and the new span, each once');
});

/** An ExportTraceServiceResponse whose partial_success rejects `n` spans (protobuf, n < 128). */
const partialSuccess = (n: number): Uint8Array => new Uint8Array([0x0a, 2, 0x08, n]);

test('300 generated runs: stats() counts each span the collector refused (a status not retried) or the memory bound evicted, and every span is sent, refused, evicted or still waiting', async (t) => {
  const advance = fakeTimers(t);
  const r = prng(0x10557);
  let evicted = 0;
  for (let run = 0; run < 300; run++) {
    let sent = 0;
    let refused = 0;
    const accepted = new Set<number>();
    // Each export gets one answer: OK, OK with a partial success, a status not retried, one retried, or a network error.
    const respond = (ids: number[]): TransportResponse => {
      const x = r();
      if (x < 0.15) throw new TypeError('network error');
      const status = x < 0.4 ? 200 : x < 0.55 ? [400, 401, 413][Math.floor(r() * 3)]! : x < 0.75 ? [429, 502, 503, 504][Math.floor(r() * 4)]! : 202;
      const reject = status === 202 ? Math.floor(r() * 12) : 0;
      if (status >= 400 && status < 429) refused += ids.length;
      if (status < 300) {
        // A partial success counts as sent in a Worker (docs/worker.md).
        sent += ids.length;
        for (const id of ids) assert.ok(!accepted.has(id), `run ${run}: span ${id} accepted twice`);
        for (const id of ids) accepted.add(id);
      }
      return { status, body: reject ? partialSuccess(reject) : undefined };
    };
    // 5 KB a span: one or two retried batches fill the 256 KiB kept in memory.
    const h = harness(0, 200, respond, 5000);
    let queued = 0;
    for (let i = 0, n = 1 + Math.floor(r() * 25); i < n; i++) {
      const res = await h.end(1 + Math.floor(r() * 40));
      queued = res!.queued;
      await advance(1);
    }
    const s = h.delivery.stats!();
    const what = `run ${run}`;
    assert.equal(s.droppedRejected, refused, `${what}: refused spans counted`);
    assert.equal(s.droppedUnsent, 0);
    assert.equal(sent + refused + s.droppedQueueFull + queued, h.made(), `${what}: every span accounted for`);
    evicted += s.droppedQueueFull;
  }
  assert.ok(evicted > 0, `the runs evict (${evicted})`);
});

test('400 generated runs: after a retried answer nothing is sent before the backoff (exponential, with jitter) or the Retry-After, capped at 60 s; the first export after it sends', async () => {
  const r = prng(0xbac0ff);
  for (let run = 0; run < 400; run++) {
    /** The times an export went out. */
    let sends = 0;
    // Each request: OK, a status not retried, 429/503 with Retry-After (seconds or a date) or without, 502/504, a network error.
    const respond = (): TransportResponse => {
      sends++;
      const x = r();
      if (x < 0.15) throw new TypeError('network error');
      if (x < 0.4) return { status: 200 };
      if (x < 0.45) return { status: 400 };
      if (x < 0.75) {
        const s = Math.floor(r() * 90);
        const value = r() < 0.7 ? String(s) : new Date(Date.now() + s * 1000).toUTCString();
        return { status: r() < 0.5 ? 429 : 503, headers: new Headers({ 'retry-after': value }) };
      }
      return { status: [429, 502, 503, 504][Math.floor(r() * 4)]! };
    };
    let asked = 0; // the largest Retry-After asked in the last export, ms (0: none)
    let dateForm = false;
    const h = harness(0, 200, (ids) => {
      const res = respond();
      const ra = res.headers?.get('retry-after');
      if (ra) {
        dateForm = !/^\d+$/.test(ra);
        asked = Math.max(asked, dateForm ? Date.parse(ra) - Date.now() : 1000 * Number(ra));
      }
      return res;
    });
    let failures = 0;
    /** Window in which the next export may start: not before `lo`, at the latest at the first invocation from `hi`. */
    let lo = -Infinity;
    let hi = -Infinity;
    for (let i = 0, n = 5 + Math.floor(r() * 25); i < n; i++) {
      clock += Math.floor(r() * r() * 70_000);
      const before = sends;
      const t = clock;
      asked = 0;
      const res = await h.end(1 + Math.floor(r() * 3));
      const what = `run ${run}, invocation ${i} at ${t} (window ${lo}..${hi}, ${failures} failures)`;
      if (t < lo) assert.equal(sends, before, `${what}: sent while backing off`);
      if (t >= hi) assert.ok(sends > before, `${what}: nothing sent after the backoff`);
      if (sends === before) continue;
      if (res!.queued > 0) {
        failures++;
        // backoffMs: within the upper half of min(60 s, 1 s × 2^(failures-1)); Retry-After wins when longer, both capped at 60 s.
        const full = Math.min(60_000, 1000 * 2 ** (failures - 1));
        const slack = dateForm ? 1000 : 0; // an HTTP date has whole seconds
        lo = t + Math.min(60_000, Math.max(Math.floor(full / 2), asked - slack));
        hi = t + Math.min(60_000, Math.max(full, asked) + 1);
      } else {
        failures = 0;
        lo = hi = -Infinity;
      }
    }
  }
});

test('the Worker transport reads at most 4 MiB of a response body (OTLP: a client MUST bound it): an endless 200 body is done with at once', async (t) => {
  const srv = await startEndlessBody(t);
  const send = fetchTransport(fetch, srv.url, {}, 10_000);
  const t0 = performance.now();
  const res = await send(new Uint8Array(10), { contentType: 'application/x-protobuf', spans: 1 });
  const took = performance.now() - t0;
  assert.equal(res.status, 200);
  assert.ok(took < 2500, `the transport took ${Math.round(took)} ms (${srv.written()} bytes written)`);
  // The bound itself: 4 MiB read, plus what the socket buffers hold here (send 4 MiB, receive up
  // to 32 MiB: net.ipv4.tcp_wmem, tcp_rmem), 9-20 MB seen; reading on for the 1 s any body may take: 66-112 MB.
  const written = await srv.closed();
  assert.ok(written < 48 << 20, `the connection closed after ${written} bytes written`);
});

/**
 * A delivery under `compression: 'gzip'` whose bodies carry their span
 * numbers (4 bytes each), and a transport that gunzips with node:zlib and
 * records every request: its spans, whether gzipped, its uncompressed bytes,
 * the flush it belongs to, and the answer `answer` gives it (a throw: a
 * network error). Answers come after a few turns of the event loop, so the
 * batches of one flush interleave.
 */
function gzipHarness(maxSpans: number, answer: (gzipped: boolean) => number, turns: () => number) {
  let next = 0;
  let buffered: number[] = [];
  let flush = 0;
  const requests: Array<{ ids: number[]; gzipped: boolean; bytes: Buffer; flush: number; status: number }> = [];
  const source: SpanSource = {
    contentType: 'application/x-protobuf',
    pending: () => buffered.length,
    drain(_max, most = 100): Encoded | null {
      if (buffered.length === 0) return null;
      const taken = buffered.slice(0, most);
      buffered = buffered.slice(most);
      return { body: new Uint8Array(new Uint32Array(taken).buffer), spans: taken.length };
    },
    commit: () => {},
    stats: () => ({ droppedSpans: 0, droppedData: 0, droppedOversize: 0, held: 0 }),
  };
  const send: Transport = async (body, meta) => {
    const gzipped = meta.contentEncoding === 'gzip';
    const bytes = gzipped ? gunzipSync(body) : Buffer.from(body);
    const q = { ids: [...new Uint32Array(new Uint8Array(bytes).buffer)], gzipped, bytes, flush, status: 0 };
    requests.push(q);
    for (let i = turns(); i > 0; i--) await new Promise((r) => setImmediate(r));
    q.status = answer(gzipped); // throws for a network error
    return { status: q.status };
  };
  const delivery = createDelivery(source, send, 0, maxSpans, true);
  return {
    delivery,
    requests,
    /** An invocation that made `n` spans ends, after any backoff; resolves when its export is done. */
    async end(n: number) {
      for (let i = 0; i < n; i++) buffered.push(next++);
      clock += 61_000;
      flush++;
      return delivery.ended();
    },
    made: () => next,
  };
}

test('300 generated runs: a batch answered 415 to its gzip body goes again at once uncompressed, byte-equal; no later export is compressed; every span is accepted once', async () => {
  const r = prng(0x415);
  let refusals = 0;
  let failedAgain = 0;
  for (let run = 0; run < 300; run++) {
    // The collector takes gzip until its `from`-th request (some never refuse), then answers 415 to every gzip body.
    const from = r() < 0.2 ? Infinity : Math.floor(r() * 12);
    let healthy = false;
    const h = gzipHarness(1 + Math.floor(r() * 20), (gzipped) => {
      if (gzipped && h.requests.length > from) return 415;
      const x = healthy ? 1 : r();
      if (x < 0.15) throw new TypeError('network error');
      return x < 0.25 ? 503 : 200;
    }, () => Math.floor(r() * 4));
    for (let i = 0, n = 1 + Math.floor(r() * 8); i < n; i++) await h.end(1 + Math.floor(r() * 30));
    // The collector healthy again: what it could not take leaves with the next exports.
    healthy = true;
    for (let i = 0; i < 3; i++) await h.end(0);
    const what = `run ${run} (gzip refused from request ${from})`;
    const q = h.requests;
    const accepted = q.filter((x) => x.status === 200).flatMap((x) => x.ids);
    assert.deepEqual(accepted.sort((a, b) => a - b), Array.from({ length: h.made() }, (_, i) => i), `${what}: each span accepted once`);
    assert.deepEqual(h.delivery.stats!(), { droppedRejected: 0, droppedQueueFull: 0, droppedUnsent: 0 }, `${what}: nothing lost`);
    const refused = q.filter((x) => x.status === 415);
    for (const x of refused) {
      const again = q.slice(q.indexOf(x) + 1).find((y) => y.ids[0] === x.ids[0])!;
      assert.ok(again && !again.gzipped && again.bytes.equals(x.bytes), `${what}: the refused batch again, uncompressed, byte-equal`);
      assert.equal(again.flush, x.flush, `${what}: sent again within the same export`);
      if (again.status === 0) failedAgain++;
    }
    if (refused.length) {
      const first = refused[0]!.flush;
      assert.ok(q.every((x) => x.flush <= first || !x.gzipped), `${what}: compressed after the 415`);
    }
    refusals += refused.length;
  }
  assert.ok(refusals > 50 && failedAgain > 5, `the runs refuse gzip (${refusals}) and fail uncompressed sends after it (${failedAgain})`);
});

test('60 generated runs: a 415 to an uncompressed body is a rejection, counted once and not sent again', async () => {
  const r = prng(0x4150);
  for (let run = 0; run < 60; run++) {
    const h = gzipHarness(1 + Math.floor(r() * 20), () => 415, () => Math.floor(r() * 3));
    for (let i = 0, n = 1 + Math.floor(r() * 6); i < n; i++) await h.end(1 + Math.floor(r() * 30));
    const what = `run ${run}`;
    const plain = h.requests.filter((x) => !x.gzipped);
    // Each batch: gzip refused (only in the first export), then uncompressed, refused, dropped.
    assert.deepEqual(plain.flatMap((x) => x.ids).sort((a, b) => a - b), Array.from({ length: h.made() }, (_, i) => i), `${what}: each span sent uncompressed once`);
    assert.ok(h.requests.every((x) => !x.gzipped || x.flush === 1), `${what}: gzip only in the first export`);
    assert.equal(h.delivery.stats!().droppedRejected, h.made(), `${what}: every span counted refused`);
  }
});

test('the Worker transport: a 302 to a page answering a GET with 200 is a rejection, counted; a 307 to the collector is a delivery', async (t) => {
  const { createServer } = await import('node:http');
  let posts = 0;
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') return void (res.writeHead(302, { location: '/sign-in' }), res.end());
      if (req.method === 'POST' && req.url === '/moved') return void (res.writeHead(307, { location: '/in' }), res.end());
      if (req.method === 'POST') return void (posts++, res.writeHead(200, { 'content-type': 'application/x-protobuf' }), res.end());
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Sign in</title>');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.after(() => srv.close());
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  for (const [path, delivered] of [['/v1/traces', false], ['/moved', true]] as const) {
    let pending = 5;
    const source: SpanSource = {
      contentType: 'application/x-protobuf',
      pending: () => pending,
      drain: () => (pending ? ((pending = 0), { body: new Uint8Array(10), spans: 5 }) : null),
      commit: () => {},
      stats: () => ({ droppedSpans: 0, droppedData: 0, droppedOversize: 0, held: 0 }),
    };
    // Node's fetch (undici, v20) cannot follow a 307 with a byte body (workerd's can): a Blob here.
    const nodeFetch = ((u: string, init: RequestInit) => fetch(u, { ...init, body: new Blob([init.body as BlobPart]) })) as typeof fetch;
    const d = createDelivery(source, fetchTransport(nodeFetch, base + path, {}, 10_000), 0, 100);
    const r = await d.flush();
    assert.equal(r.sent, delivered ? 5 : 0, `${path}: ${JSON.stringify(r)}`);
    assert.equal(d.stats!().droppedRejected, delivered ? 0 : 5, path);
  }
  assert.equal(posts, 1, 'only the 307 reached the collector');
});
