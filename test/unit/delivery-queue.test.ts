// The localStorage queue against the spec-faithful in-memory Storage: write
// ahead, next load, two tabs, quota, corruption, disabled storage, headers
// never stored — with spans sent + kept + dropped adding up exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import {
  endSpans, expireClaims, flakyPort, received, sleep, storedBatches, storedSpans, tabFor, tracerFor, uniqueIds,
  assertDecoded, left, leaveStored,
} from './delivery-harness.js';
import { prng } from '../../demo/collector/synthetic.mjs';

test('batches are written ahead and a killed page loses none of them', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  // One attempt, then parked: after the flushes below, page A makes no more
  // requests, as a killed page would not (a live page re-claims lapsed batches
  // when it retries them, and rightly keeps them for another lease).
  const a = await tabFor(down.url, { storage: area.open(), maxAttempts: 1 });
  endSpans(a.tracer, 10);
  assert.deepEqual(await a.tracer.flush(), { sent: 0, queued: 10, dropped: 0 });
  endSpans(a.tracer, 6, 'second');
  await a.tracer.flush();
  const stored = storedBatches(area);
  assert.deepEqual(stored.map((b) => b.spans), [10, 6], 'one entry per batch, oldest first');
  for (const b of stored) assert.equal(allSpans(decodeProtobuf(b.body!)).length, b.spans, 'stored bodies decode');
  // Page A is killed (no pagehide); time passes and its claims lapse.
  expireClaims(area);
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const b = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === 16, 5000);
  const r = await b.tracer.flush();
  assert.deepEqual([r.queued, r.dropped], [0, 0]);
  assert.equal(uniqueIds(received(c).user), 16);
  assert.equal(storedBatches(area).length, 0, 'sent entries are removed');
  await a.tracer.shutdown(); // A's handoff of what B already sent writes nothing back
  await b.tracer.shutdown();
  assert.deepEqual(left(area), []);
  assert.equal(uniqueIds(received(c).user), 16, 'nothing sent twice');
});

test('shutdown hands the queue to the next load at once', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  const a = await tabFor(down.url, { storage: area.open() });
  endSpans(a.tracer, 8);
  await a.tracer.flush();
  assert.deepEqual(await a.tracer.shutdown(), { sent: 0, queued: 8, dropped: 0 });
  assert.equal(storedSpans(area), 8);
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const b = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === 8, 5000);
  await b.tracer.shutdown();
  assert.equal(uniqueIds(received(c).user), 8);
  assert.deepEqual(left(area), []);
});

test('two tabs drain one queue: no batch twice, none lost', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  // A dead page left 6 batches.
  const dead = await tabFor(down.url, { storage: area.open() });
  for (let i = 0; i < 6; i++) {
    endSpans(dead.tracer, 5, `dead${i}`);
    await dead.tracer.flush();
  }
  await dead.tracer.shutdown();
  // Two live tabs, each with batches of its own, while the collector is down.
  const tabs = [await tabFor(down.url, { storage: area.open(), retryInitialDelayMs: 30, maxAttempts: 50 }),
    await tabFor(down.url, { storage: area.open(), retryInitialDelayMs: 30, maxAttempts: 50 })];
  for (const [i, tab] of tabs.entries()) {
    for (let j = 0; j < 3; j++) {
      endSpans(tab.tracer, 4, `tab${i}-${j}`);
      await tab.tracer.flush();
    }
  }
  assert.equal(storedSpans(area), 30 + 24);
  const c = await startCollector({ respond: async () => (await sleep(5), {}) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  await down.up(c);
  await c.waitFor(() => received(c).user.length >= 54, 8000);
  await Promise.all(tabs.map((tab) => tab.tracer.flush()));
  await sleep(100);
  const { user } = received(c);
  assert.equal(user.length, 54, 'each span once');
  assert.equal(uniqueIds(user), 54);
  assert.deepEqual(storedBatches(area), []);
  for (const tab of tabs) assert.equal(tab.dropped(), 0);
});

test('a batch another tab adopted after our claim lapsed is sent by that tab only (generated batch counts)', async (t) => {
  let seed = 0xc1a;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let round = 0; round < 3; round++) {
    const area = createStorageArea();
    const down = await flakyPort();
    t.after(() => down.close());
    // Tab A writes its batches ahead and fails to send them; it retries later.
    const a = await tabFor(down.url, { storage: area.open(), retryInitialDelayMs: 400, retryMaxDelayMs: 400, maxAttempts: 50 });
    const batches = 1 + rnd(4);
    let spans = 0;
    for (let i = 0; i < batches; i++) {
      const n = 1 + rnd(6);
      spans += n;
      endSpans(a.tracer, n, `r${round}-a${i}`);
      await a.tracer.flush();
    }
    assert.equal(storedSpans(area), spans);
    // Its claims lapse (a frozen tab, say); tab B opens and adopts them; the collector comes up.
    expireClaims(area);
    const c = await startCollector();
    t.after(() => c.close());
    t.after(() => assertDecoded(c));
    await down.up(c);
    const b = await tabFor(down.url, { storage: area.open(), retryInitialDelayMs: 20, maxAttempts: 50 });
    await c.waitFor(() => received(c).user.length >= spans, 5000);
    // A's retry comes after B has taken the batches: A must find them held and leave them.
    await sleep(600);
    await Promise.all([a.tracer.flush(), b.tracer.flush()]);
    const { user } = received(c);
    assert.equal(user.length, spans, `round ${round}: each of ${spans} spans once`);
    assert.equal(uniqueIds(user), spans);
    assert.deepEqual(storedBatches(area), []);
    for (const tab of [a, b]) assert.equal(tab.dropped(), 0);
    await Promise.all([a.tracer.shutdown(), b.tracer.shutdown()]);
  }
});

test('quota errors: the oldest batches go, counted; sent + kept + dropped = ended', async (t) => {
  const area = createStorageArea({ quota: 6000 }); // about 11 KB of packed bodies
  const down = await flakyPort();
  t.after(() => down.close());
  const a = await tabFor(down.url, { storage: area.open(), compression: 'none', maxAttempts: 1 });
  let ended = 0;
  let droppedByResults = 0;
  for (let i = 0; i < 8; i++) {
    endSpans(a.tracer, 10, `q${i}`, 20); // about 1.5 KB per batch
    ended += 10;
    droppedByResults += (await a.tracer.flush()).dropped;
  }
  const kept = storedSpans(area);
  assert.ok(kept > 0 && kept < ended, `kept ${kept} of ${ended}`);
  assert.ok(area.used() <= 6000);
  assert.equal(droppedByResults, ended - kept, 'each evicted batch counted');
  assert.equal(a.dropped(), 0, 'while the collector does not answer, reports wait');
  const down2 = await a.tracer.shutdown();
  assert.deepEqual(down2, { sent: 0, queued: kept, dropped: 0 });
  assert.equal(a.drops.get('queue-full'), ended - kept, 'reported at shutdown');
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const b = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === kept, 5000);
  await b.tracer.shutdown();
  const sent = uniqueIds(received(c).user);
  assert.equal(sent + storedSpans(area) + a.dropped() + b.dropped(), ended);
  assert.equal(sent, kept);
});

test('a batch storage cannot hold is kept in memory and still sent', async (t) => {
  const area = createStorageArea({ quota: 500 });
  const port = await flakyPort();
  t.after(() => port.close());
  const a = await tabFor(port.url, { storage: area.open(), compression: 'none', retryInitialDelayMs: 30, maxAttempts: 50 });
  endSpans(a.tracer, 20, 'big', 50);
  assert.deepEqual(await a.tracer.flush(), { sent: 0, queued: 20, dropped: 0 });
  assert.equal(storedSpans(area), 0, 'too big for the quota');
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  await port.up(c);
  await c.waitFor(() => received(c).user.length === 20, 5000);
  await a.tracer.shutdown();
  assert.equal(a.dropped(), 0);
});

test('the queue bound drops the oldest batch and reports it as a wasmtrace.dropped span', async (t) => {
  const area = createStorageArea();
  const port = await flakyPort();
  t.after(() => port.close());
  const tracer = await tracerFor(port.url, { storage: area.open(), compression: 'none', maxQueueBytes: 4000, maxAttempts: 1 });
  for (let i = 0; i < 6; i++) {
    endSpans(tracer, 10, `b${i}`, 20);
    await tracer.flush();
  }
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  await port.up(c);
  endSpans(tracer, 1, 'trigger');
  await tracer.flush(); // the collector answers: the tallied drops are reported
  await tracer.flush(); // and the report goes out
  const { user, dropped } = received(c);
  assert.equal(dropped.length, 1, 'one report for the whole outage');
  const lost = dropped[0]!.spans;
  assert.equal(dropped[0]!.reason, 'queue-full');
  assert.ok(lost >= 10, `reported ${lost} spans dropped`);
  assert.equal(user.length + lost, 61, `${user.length} sent + ${lost} reported`);
  assert.equal(uniqueIds(user), user.length);
  await tracer.shutdown();
});

test('corrupted entries and foreign keys: corrupt ones removed and counted, foreign ones untouched', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  const a = await tabFor(down.url, { storage: area.open() });
  endSpans(a.tracer, 5);
  await a.tracer.flush();
  await a.tracer.shutdown();
  area.poke('wasmtrace:q:000000001-garbage', 'not an entry');
  area.poke('wasmtrace:q:000000002-badbody', 'W1,p,-,7,100,\u0800\u0801');
  area.poke('wasmtrace:q:000000003-badunit', `W1,p,-,3,2,ab`);
  area.poke('wasmtrace:c:000000004-orphan', 'x,1');
  area.poke('other-app:state', '{"a":1}');
  area.poke('wasmtrace:settings', 'kept');
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const b = await tabFor(c.url, { storage: area.open() });
  await c.waitFor(() => received(c).user.length === 5, 5000);
  await b.tracer.shutdown();
  assert.deepEqual(b.drops.get('corrupt'), 10, '7 + 3 spans from the readable headers');
  const keys = area.entries().map(([k]) => k).sort();
  assert.deepEqual(keys, ['other-app:state', 'wasmtrace:c:000000004-orphan', 'wasmtrace:m', 'wasmtrace:settings']);
  assert.equal(b.errors.length, 0);
});

test('an entry whose header claims more bytes than it holds is corrupt: it evicts no other batch (generated)', async (t) => {
  // Its count (up to 999,999,999) weighed on the bound: the next write
  // evicted every entry sorted before it, counted queue-full.
  const r = prng(999);
  const down = await flakyPort();
  t.after(() => down.close());
  for (let i = 0; i < 6; i++) {
    const area = createStorageArea();
    let kept = 0;
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
      const n = 1 + Math.floor(r() * 20);
      kept += n;
      await leaveStored(area.open(), down.url, n);
    }
    const spans = 1 + Math.floor(r() * 50);
    const bytes = (1 << 20) + Math.floor(r() * (1e9 - (1 << 20)));
    const id = r() < 0.5 ? 'zzzzzzzzz-bogus' : '000000000-bogus';
    area.poke(`wasmtrace:q:${id}`, `W1,p,-,${spans},${bytes},\u0800\u0801`);
    const b = await tabFor(down.url, { storage: area.open(), maxAttempts: 1 });
    endSpans(b.tracer, 3, 'new');
    await b.tracer.flush();
    await b.tracer.shutdown();
    assert.equal(storedSpans(area), kept + 3, `case ${i}: ${bytes} bytes claimed, id ${id}: every batch kept`);
    assert.deepEqual([...b.drops], [['corrupt', spans]], `case ${i}: the corrupt entry counted, nothing else`);
    assert.equal(area.entries().some(([k]) => k.endsWith('bogus')), false, `case ${i}: removed`);
  }
});

test('a write that evicting cannot make room for evicts nothing: storage full of the app\'s data, or the bound held by another page (generated)', async (t) => {
  // Every earlier batch was evicted, counted queue-full, and the write
  // failed all the same: the new batch waited in memory, the old ones were lost.
  const r = prng(2222);
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  for (let i = 0; i < 6; i++) {
    const quota = i % 2 === 0;
    const area = createStorageArea({ quota: 40_000 });
    const down = await flakyPort();
    t.after(() => down.close());
    let kept = 0;
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
      const n = 1 + Math.floor(r() * 4);
      kept += n;
      await leaveStored(area.open(), down.url, n, `old${i}`);
    }
    if (quota) area.poke('app:cache', 'x'.repeat(area.quota - area.used() - 'app:cache'.length)); // the app fills storage
    else {
      // Another release's entry, held by a live page, fills the bound.
      area.poke('wasmtrace:q:000000000-other', 'W2,' + 'x'.repeat(20_000));
      area.poke('wasmtrace:c:000000000-other', `other,${Date.now() + 60_000}`);
    }
    const n = 10 + Math.floor(r() * 10);
    const b = await tabFor(down.url, { storage: area.open(), compression: 'none', maxAttempts: 1, ...(quota ? {} : { maxQueueBytes: 20_000 }) });
    endSpans(b.tracer, n, `new${i}`, 200); // larger than every old batch together
    await b.tracer.flush();
    const label = `case ${i}: ${quota ? 'quota' : 'bound'}`;
    assert.equal(storedSpans(area), kept, `${label}: the old batches stay stored`);
    assert.equal(b.dropped(), 0, `${label}: nothing dropped`);
    await down.up(c);
    await b.tracer.shutdown();
    // Storage full, no claim can be written: the old batches wait for a page that can claim them.
    if (quota) area.open().removeItem('app:cache');
    const next = await tabFor(c.url, { storage: area.open() });
    const mine = () => received(c).user.filter((s) => s.name.startsWith(`old${i}-`) || s.name.startsWith(`new${i}-`));
    await c.waitFor(() => mine().length >= kept + n, 5000).catch(() => {});
    await next.tracer.shutdown();
    const got = mine();
    assert.equal(got.length, kept + n, `${label}: every span sent`);
    assert.equal(uniqueIds(got), kept + n, `${label}: once`);
  }
});

test('disabled storage: delivery works from memory and nothing is thrown', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const area = createStorageArea();
  area.disabled = true;
  const a = await tabFor(c.url, { storage: area.open() });
  endSpans(a.tracer, 7);
  assert.deepEqual(await a.tracer.flush(), { sent: 7, queued: 0, dropped: 0 });
  assert.ok(a.errors.length > 0, 'reported to the internal error handler');
  assert.ok(a.errors.every((e) => e instanceof DOMException && e.name === 'SecurityError'));
  // Disabled halfway: what was written ahead is still sent.
  const area2 = createStorageArea();
  const port = await flakyPort();
  t.after(() => port.close());
  const b = await tabFor(port.url, { storage: area2.open(), retryInitialDelayMs: 30, maxAttempts: 50 });
  endSpans(b.tracer, 4);
  await b.tracer.flush();
  assert.equal(storedSpans(area2), 4);
  area2.disabled = true;
  await port.up(c);
  await c.waitFor(() => received(c).user.length === 11, 5000);
  await b.tracer.shutdown();
  assert.equal(b.dropped(), 0);
});

test('a storage default that throws on access becomes no storage', async () => {
  const { defaultStorage } = await import('../../src/export/options.js');
  const g = globalThis as { localStorage?: unknown };
  const had = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
  Object.defineProperty(globalThis, 'localStorage', { configurable: true, get() { throw new DOMException('denied', 'SecurityError'); } });
  try {
    assert.equal(defaultStorage(), null);
    const area = createStorageArea();
    Object.defineProperty(globalThis, 'localStorage', { configurable: true, value: area.open() });
    assert.equal(defaultStorage(), g.localStorage);
    assert.deepEqual(area.entries(), [], 'the probe cleans up');
  } finally {
    if (had) Object.defineProperty(globalThis, 'localStorage', had);
    else delete g.localStorage;
  }
});

test('authentication and other headers are never written to storage', async (t) => {
  const area = createStorageArea();
  const down = await flakyPort();
  t.after(() => down.close());
  const secret = 'Bearer s3cr3t-token-value';
  const a = await tabFor(down.url, { storage: area.open(), headers: { authorization: secret, 'x-api-key': 'k-e-y-9' } });
  endSpans(a.tracer, 5);
  await a.tracer.flush();
  await a.tracer.shutdown();
  assert.ok(storedBatches(area).length > 0);
  const text = area.entries().map(([k, v]) => k + v).join('\n');
  const bodies = storedBatches(area).map((b) => Buffer.from(b.body!).toString('latin1')).join('\n');
  for (const s of ['s3cr3t', 'k-e-y-9', 'authorization', 'x-api-key']) {
    assert.ok(!text.includes(s) && !bodies.includes(s), `${s} not stored`);
  }
});

/** `area.open()` that also records the keys of every write and removal. */
function recordingTab(area: ReturnType<typeof createStorageArea>): { storage: Storage; writes: string[]; removals: string[] } {
  const s = area.open();
  const writes: string[] = [];
  const removals: string[] = [];
  const storage = new Proxy(s, {
    get(target, p) {
      if (p === 'setItem') return (k: string, v: string) => (writes.push(k), target.setItem(k, v));
      if (p === 'removeItem') return (k: string) => (removals.push(k), target.removeItem(k));
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as Storage;
  return { storage, writes, removals };
}

test('a batch the browser holds in a keepalive request is not written ahead; one that waits or fails is', async (t) => {
  const area = createStorageArea();
  const c = await startCollector({ respond: () => ({ delayMs: 150 }) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  // One request at a time: of three batches, the first is in flight and two wait.
  const rec = recordingTab(area);
  const tab = await tabFor(c.url, { storage: rec.storage, maxConcurrentRequests: 1 });
  const flushes = [];
  for (let i = 0; i < 3; i++) {
    endSpans(tab.tracer, 5, `slow${i}`);
    flushes.push(tab.tracer.flush()); // a batch each
  }
  await c.waitFor(() => c.requests.length === 1, 5000);
  for (let i = 0; i < 100 && storedBatches(area).length < 2; i++) await sleep(5);
  assert.deepEqual(storedBatches(area).map((b) => b.spans), [5, 5], 'the two waiting batches are in storage');
  assert.equal(c.requests.length, 1, 'the one in flight is not');
  await Promise.all(flushes);
  await c.waitFor(() => received(c).user.length === 15, 5000);
  assert.equal(uniqueIds(received(c).user), 15);
  assert.equal(storedBatches(area).length, 0, 'sent entries are removed');
  assert.equal(new Set(rec.writes.filter((k) => k.startsWith('wasmtrace:q:'))).size, 2, 'only the two that waited were written');

  // A healthy collector and nothing waiting: no storage write at all per batch.
  rec.writes.length = 0;
  rec.removals.length = 0;
  const fast = await startCollector();
  t.after(() => fast.close());
  t.after(() => assertDecoded(fast));
  const tab2 = await tabFor(fast.url, { storage: rec.storage });
  for (let i = 0; i < 4; i++) {
    endSpans(tab2.tracer, 10, `fast${i}`);
    assert.deepEqual(await tab2.tracer.flush(), { sent: 10, queued: 0, dropped: 0 });
  }
  assert.deepEqual([rec.writes, rec.removals], [[], []], 'a batch delivered from the browser\'s hands touches no storage');

  // The same batch failing in the browser's hands is written then, and a later page delivers it.
  const down = await flakyPort();
  t.after(() => down.close());
  const rec3 = recordingTab(area);
  const tab3 = await tabFor(down.url, { storage: rec3.storage, maxAttempts: 1 });
  endSpans(tab3.tracer, 7, 'failed');
  assert.deepEqual(await tab3.tracer.flush(), { sent: 0, queued: 7, dropped: 0 });
  assert.deepEqual(storedBatches(area).map((b) => b.spans), [7]);
  await tab3.tracer.shutdown();
  await tab.tracer.shutdown();
  await tab2.tracer.shutdown();
  const tab4 = await tabFor(fast.url, { storage: area.open() });
  await fast.waitFor(() => received(fast).user.length === 47, 5000);
  await tab4.tracer.shutdown();
  assert.equal(uniqueIds(received(fast).user), 47, 'each span once'); // 40 sent directly, the failed 7 by the next page
  assert.deepEqual(left(area), []);
});

test('a storage that refuses writes is asked once per batch, not at every pump, and nothing is lost', async (t) => {
  const area = createStorageArea();
  const c = await startCollector({ respond: () => ({ delayMs: 40 }) });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const s = area.open();
  const tries = new Map<string, number>();
  const storage = new Proxy(s, {
    get(target, p) {
      if (p === 'setItem') {
        return (k: string, v: string) => {
          if (!k.startsWith('wasmtrace:q:')) return target.setItem(k, v);
          tries.set(k, (tries.get(k) ?? 0) + 1);
          throw new DOMException('the disk is gone', 'InvalidStateError');
        };
      }
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as Storage;
  const tab = await tabFor(c.url, { storage, maxConcurrentRequests: 1 });
  const flushes = [];
  for (let i = 0; i < 4; i++) {
    endSpans(tab.tracer, 3, `refused${i}`);
    flushes.push(tab.tracer.flush());
  }
  await Promise.all(flushes);
  await c.waitFor(() => received(c).user.length === 12, 5000);
  assert.equal(uniqueIds(received(c).user), 12, 'every span once, from memory');
  assert.ok(tries.size >= 2, `batches that waited were offered to storage (${tries.size})`);
  for (const [k, n] of tries) assert.equal(n, 1, `${k} asked ${n} times`);
  await tab.tracer.shutdown();
});
