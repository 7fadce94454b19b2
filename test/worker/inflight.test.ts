// The parent of a global fetch made after an await, which workerd without
// AsyncLocalStorage cannot know: the only invocation in flight, if there is
// one. An ignored (untraced) invocation is in flight until its waitUntil work
// settles; waitUntil work that never settles stops counting 30 s after its
// handler returned. With AsyncLocalStorage nothing is guessed. Real workerd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { guessAndAls, startUpstream, startWorkers, type Upstream } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import { MAX_RUNNING, close, invocation, returned, track } from '../../worker/context.js';

const current = () => invocation()?._span;
import { setClock } from '../../src/clock.js';
import type { Span } from '../../src/types.js';

let collector: Collector;
let upstream: Upstream;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  upstream = await startUpstream();
  const bindings = { UPSTREAM: upstream.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'inflight' };
  mf = startWorkers(guessAndAls('inflight.mjs', bindings));
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await upstream?.close();
  await collector?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let tags = 0;

/** A request to `host`; its own span's ids (null when untraced). */
async function call(host: string, path: string, headers: Record<string, string> = {}) {
  const res = await mf.dispatchFetch(`http://${host}.example${path}`, { headers });
  assert.equal(res.status, 200, path);
  return (await res.json()) as { traceId: string | null; spanId: string | null };
}

/** What the upstream received from the fetch tagged `tag`, once it has. */
async function sent(tag: string) {
  for (let i = 0; i < 100; i++) {
    const r = upstream.requests.find((x) => new URL(x.url, 'http://x').searchParams.get('tag') === tag);
    if (r) return { traceparent: r.headers.traceparent ?? null, baggage: r.headers.baggage ?? null };
    await sleep(20);
  }
  throw new Error(`no upstream request tagged ${tag}`);
}

/** A request whose fetch after an await must be in its own trace (a CLIENT span child of its span). */
async function lone(host: string, what: string) {
  const tag = `lone${++tags}`;
  const own = await call(host, `/lone?tag=${tag}`);
  assert.ok(own.traceId, 'traced');
  const parent = (await sent(tag)).traceparent?.slice(36, 52);
  await collector.waitFor(() => collector.spans().some((s) => s.spanId === parent), 15_000).catch(() => assert.fail(`${host}: ${what}: no CLIENT span ${parent}`));
  const client = collector.spans().find((s) => s.spanId === parent)!;
  assert.deepEqual([client.kind, client.traceId, client.parentSpanId], [3, own.traceId, own.spanId], `${host}: ${what}`);
}

for (const host of ['guess', 'als']) {
  describe(host === 'als' ? 'with AsyncLocalStorage' : 'without AsyncLocalStorage', () => {
    test("an ignored invocation's fetch, in its handler or its waitUntil work, gets no other request's parent or baggage", async () => {
      const rnd = prng(host === 'als' ? 0xa15 : 0x6e55);
      for (let n = 0; n < 6; n++) {
        const d = 300 + Math.floor(rnd() * 300);
        const w = 50 + Math.floor(rnd() * (d - 200));
        const mode = rnd() < 0.5 ? 'wait' : 'handler';
        const baggage = `user.id=u${Math.floor(rnd() * 1e6)}`;
        const [slowTag, tag] = [`slow${++tags}`, `ign${++tags}`];
        const what = JSON.stringify({ d, w, mode });
        const slow = call(host, `/slow?d=${d}&tag=${slowTag}`, { baggage });
        await sleep(30);
        assert.deepEqual(await call(host, `/ignored/${mode}?w=${w}&tag=${tag}`), { traceId: null, spanId: null });
        const own = await slow;
        assert.deepEqual(await sent(tag), { traceparent: null, baggage: null }, what);
        const mine = await sent(slowTag);
        assert.equal(mine.traceparent?.slice(3, 35), own.traceId, `the slow request's own fetch: ${what}`);
        assert.equal(mine.baggage, baggage, what);
      }
    });

    test('waitUntil work that never settles counts 30 s after its handler returned, then no longer', async () => {
      await lone(host, 'before');
      const rnd = prng(host === 'als' ? 0x7e7 : 0x3a3);
      for (const n of [1, 2 + Math.floor(rnd() * 8), 200 + Math.floor(rnd() * 100)]) {
        const never = Array.from({ length: n }, () => (rnd() < 0.5 ? '/never' : '/ignored/never'));
        for (let i = 0; i < n; i += 20) await Promise.all(never.slice(i, i + 20).map((p) => call(host, p)));
        if (host === 'als') await lone(host, `${n} never settling: AsyncLocalStorage knows the parent`);
        else {
          // Their work may still be running: a guess could be theirs.
          const tag = `lone${++tags}`;
          await call(host, `/lone?tag=${tag}`);
          assert.equal((await sent(tag)).traceparent, null, `${n} never settling, within 30 s`);
        }
        await call(host, '/ignored/advance?ms=30001');
        for (let i = 0; i < 3; i++) await lone(host, `${n} never settling, 30 s later (${i})`);
      }
    });
  });
}

test('the invocations tracked stay bounded: those returned 30 s ago are dropped, and beyond MAX_RUNNING handlers running the oldest (the module in Node, clock set)', () => {
  let clock = 0;
  setClock(() => clock, 0);
  const rnd = prng(0xb0d);
  const span = () => ({ setAttribute() {}, end() {} }) as unknown as Span; // one given up on is ended
  for (let round = 0; round < 12; round++) {
    // n handlers still running: the oldest counts unless MAX_RUNNING or more came after it.
    const n = round < 2 ? MAX_RUNNING + round : 1 + Math.floor(rnd() * 3 * MAX_RUNNING);
    const first = span();
    const invs = [track(first), ...Array.from({ length: n - 1 }, () => track(span()))];
    for (const inv of invs.slice(1)) close(inv);
    assert.equal(current(), n <= MAX_RUNNING ? first : undefined, `${n} running`);
    close(invs[0]!);
    // m returned whose waitUntil work never settles: they count for 30 s.
    const m = 1 + Math.floor(rnd() * 500);
    for (let i = 0; i < m; i++) returned(track(span()));
    const lone = track(span());
    assert.equal(current(), undefined, `${m} returned, at once`);
    clock += 30_000;
    assert.equal(current(), lone._span, `${m} returned, 30 s on`);
    close(lone);
  }
});
