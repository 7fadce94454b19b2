// A fetch nobody awaits (nor gives to waitUntil) is cancelled by workerd when
// its invocation ends, and its promise never settles. Its CLIENT span must
// not hold a Wasm span slot for the isolate's life: it is ended at the
// invocation's close, marked `wasmtrace.unsettled`, once UNSETTLED_MS have
// passed since, or sooner beyond MAX_UNSETTLED waiting (the oldest first).
// A handler the runtime cancels (one that hangs) never returns: its span is
// ended MAX_RUN_MS after it began, or sooner beyond MAX_RUNNING running.
// The module's rules in Node with a clock the test sets; then real workerd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
import { guessAndAls, startUpstream, startWorkers, type Upstream } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import { MAX_RUNNING, MAX_RUN_MS, MAX_UNSETTLED, UNSETTLED_MS, WAIT_UNTIL_MS, awaiting, close, enter, invocation, returned, track } from '../../worker/context.js';
import { setClock } from '../../src/clock.js';
import { createServer, type Server, type AddressInfo } from 'node:net';
import type { Span } from '../../src/types.js';

/** A fetch span as context.ts sees one: what was done to it. */
interface Fake {
  span: Span;
  /** The time its invocation closed while it still waited. */
  closedAt?: number;
  settle?: () => void;
  settled: boolean;
  ends: number[];
  /** Whether a check has seen it ended. */
  seen?: boolean;
  marked: boolean;
}

let clock = 1_000;

function fake(): Fake {
  const f: Fake = { span: {} as Span, settled: false, ends: [], marked: false };
  f.span = {
    setAttribute(k: string, v: unknown) {
      if (k === 'wasmtrace.unsettled' && v === true) f.marked = true;
      return f.span;
    },
    end(t?: number) {
      f.ends.push(t!);
    },
  } as unknown as Span;
  return f;
}

test('the module: fetch spans still waiting end at their close, UNSETTLED_MS later or beyond MAX_UNSETTLED (oldest first); a handler running MAX_RUN_MS, or the oldest beyond MAX_RUNNING, ends then; settled and running ones never', () => {
  setClock(() => clock, 0);
  const rnd = prng(0x5e771e);
  const all: Fake[] = [];
  /** Invocations running: their span, when they began, their fetches. */
  const running: Array<{ inv: ReturnType<typeof track>; own: Fake; start: number; fetches: Fake[] }> = [];
  const closed: Fake[] = [];
  let abandoned = 0;
  let capped = 0;
  /**
   * After a track(): the handlers it gave up on (ended now, marked), whose
   * fetches then start their wait: those running MAX_RUN_MS, and then, when
   * MAX_RUNNING of the others were running, the oldest of them.
   */
  const dropped = (what: string) => {
    const young = running.filter((r) => r.start > clock - MAX_RUN_MS);
    const early = young.filter((r) => r.own.ends.length);
    if (young.length >= MAX_RUNNING) assert.deepEqual(early, [young[0]], `${what}: ${young.length} running: the oldest ended`);
    else assert.deepEqual(early, [], `${what}: a handler ended before MAX_RUN_MS, ${young.length} running`);
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i]!;
      const late = r.start <= clock - MAX_RUN_MS;
      if (late) assert.equal(r.own.ends.length, 1, `${what}: a handler running ${clock - r.start} ms is not ended`);
      if (r.own.ends.length === 0) continue;
      // Past MAX_RUN_MS: ended when it reached it (the clock may have jumped far past); beyond MAX_RUNNING: now.
      const at = late ? r.start + MAX_RUN_MS : undefined;
      assert.deepEqual(r.own.ends, [at], `${what}: a handler given up on is ended once, ${late ? 'when it reached MAX_RUN_MS' : 'now'}`);
      assert.ok(r.own.marked, `${what}: not marked`);
      running.splice(i, 1);
      if (late) abandoned++;
      else capped++;
      for (const f of r.fetches) if (!f.settled) f.closedAt = at ?? clock;
    }
  };
  const check = (what: string) => {
    const waiting = all.filter((f) => f.closedAt !== undefined && !f.settled && f.ends.length === 0);
    assert.ok(waiting.length <= MAX_UNSETTLED, `${what}: ${waiting.length} waiting`);
    const oldestWaiting = Math.min(...waiting.map((f) => f.closedAt!));
    // Ended before its time only by the cap, which then leaves exactly MAX_UNSETTLED waiting.
    const early = all.filter((f) => f.ends.length && !f.seen && f.closedAt! > clock - UNSETTLED_MS);
    for (const f of all) if (f.ends.length) f.seen = true;
    if (early.length) assert.equal(waiting.length, MAX_UNSETTLED, `${what}: ${early.length} ended early with ${waiting.length} waiting`);
    for (const f of all) {
      if (f.ends.length === 0) {
        if (f.closedAt !== undefined && !f.settled) assert.ok(f.closedAt > clock - UNSETTLED_MS, `${what}: one closed ${clock - f.closedAt} ms ago still waits`);
        continue;
      }
      assert.equal(f.ends.length, 1, `${what}: ended twice`);
      assert.ok(!f.settled, `${what}: a settled one was ended`);
      assert.ok(f.closedAt !== undefined, `${what}: one whose invocation runs was ended`);
      assert.equal(f.ends[0], f.closedAt, `${what}: ended at its close`);
      assert.ok(f.marked, `${what}: not marked wasmtrace.unsettled`);
      assert.ok(f.closedAt <= oldestWaiting, `${what}: ended before an older one`);
    }
  };
  for (let step = 0; step < 4_000; step++) {
    // Bursts, where more begin than end, past MAX_RUNNING; between them, now and then a long wait.
    const burst = step % 1_000 >= 500;
    const r = burst ? rnd() * 0.53 : rnd();
    clock += Math.floor(rnd() * (r < 0.02 && !burst ? 2 * UNSETTLED_MS : 200));
    if (r < 0.45 || running.length === 0) {
      const own = fake();
      const inv = track(own.span);
      dropped(`step ${step}`);
      const fetches = Array.from({ length: Math.floor(rnd() * 4) }, fake);
      // Started while its handler runs: the fetches are this invocation's.
      enter(inv, () => {
        for (const f of fetches) f.settle = awaiting(f.span, invocation());
      });
      all.push(...fetches);
      running.push({ inv, own, start: clock, fetches });
      check(`step ${step}, tracked`);
    } else if (r < 0.75) {
      const f = all[Math.floor(rnd() * all.length)];
      if (f && !f.settled && f.ends.length === 0) {
        f.settle!();
        f.settled = true;
      }
    } else {
      // The oldest or a random one returns and closes; what still waits starts its UNSETTLED_MS.
      const { inv, own, fetches } = running.splice(rnd() < 0.5 ? 0 : Math.floor(rnd() * running.length), 1)[0]!;
      returned(inv);
      close(inv);
      closed.push(own);
      for (const f of fetches) if (!f.settled) f.closedAt = clock;
    }
  }
  for (const { inv, own, fetches } of running.splice(0)) {
    returned(inv);
    close(inv);
    closed.push(own);
    for (const f of fetches) if (!f.settled) f.closedAt = clock;
  }
  clock += UNSETTLED_MS;
  close(track(undefined));
  check('at the end');
  assert.ok(abandoned > 10 && capped > 10, `handlers given up on: ${abandoned} after MAX_RUN_MS, ${capped} beyond MAX_RUNNING`);
  assert.deepEqual(closed.filter((f) => f.ends.length), [], 'a handler that returned is never ended here (its wrapper ends it)');
  const left = all.filter((f) => !f.settled);
  assert.ok(left.length > MAX_UNSETTLED, `${left.length} never settled: the cap was reached`);
  assert.deepEqual(left.filter((f) => f.ends.length !== 1), [], 'every unsettled one ended once');
});

test('the module: beyond MAX_RUNNING handlers running, the oldest are ended (marked), the rest never', () => {
  setClock(() => clock, 0);
  const rnd = prng(0x0be);
  for (let round = 0; round < 6; round++) {
    const k = 1 + Math.floor(rnd() * 60);
    const runs = Array.from({ length: MAX_RUNNING + k }, () => {
      const own = fake();
      return { own, inv: track(own.span) };
    });
    const ended = runs.filter((r) => r.own.ends.length);
    assert.deepEqual(ended, runs.slice(0, k), `${k} beyond: the oldest ended`);
    for (const r of ended) assert.deepEqual([r.own.ends, r.own.marked], [[undefined], true]);
    for (const r of runs) {
      returned(r.inv);
      close(r.inv);
    }
    clock += 1;
    close(track(undefined));
    assert.equal(runs.filter((r) => r.own.ends.length).length, k, 'no other was ended');
  }
});

test('the module: a fetch whose invocation is not known (several in flight, none running, none stored) waits until all those closed, then UNSETTLED_MS; beyond MAX_UNSETTLED so held, the oldest waits from then', () => {
  setClock(() => clock, 0);
  const rnd = prng(0x0dd5);
  type Inv = ReturnType<typeof track>;
  /** A fetch, with the invocations in flight when it started (one is its own) still open. */
  type F = Fake & { of: Set<Inv> };
  const live = new Set<Inv>();
  const all: F[] = [];
  /** Those kept with several open, oldest first (what context.ts holds so). */
  const held: F[] = [];
  let moved = 0;
  const unhold = (f: F) => {
    const k = held.indexOf(f);
    if (k >= 0) held.splice(k, 1);
  };
  const owns = new Map<Inv, Fake>();
  /** Over: returned and closed here, or given up on by track() (running MAX_RUN_MS). */
  const over = (inv: Inv, at = clock) => {
    live.delete(inv);
    for (const f of all)
      if (f.of.delete(inv) && f.of.size === 0 && !f.settled && f.closedAt === undefined) {
        f.closedAt = at;
        unhold(f);
      }
  };
  const start = () => {
    const own = fake();
    const inv = track(own.span);
    for (const [i, o] of owns) if (o.ends.length && live.has(i)) over(i, o.ends[0]); // closed when it was ended
    owns.set(inv, own);
    live.add(inv);
  };
  const finish = (inv: Inv) => {
    returned(inv);
    close(inv);
    over(inv);
  };
  const check = (what: string) => {
    for (const f of all) {
      if (f.ends.length === 0) continue;
      assert.equal(f.ends.length, 1, `${what}: ended twice`);
      assert.ok(!f.settled, `${what}: a settled one was ended`);
      assert.ok(f.closedAt !== undefined, `${what}: ended while ${f.of.size} that may be its invocation are open`);
      assert.equal(f.ends[0], f.closedAt, `${what}: ended when the last of them closed`);
      assert.ok(f.marked, `${what}: marked`);
    }
    const waiting = all.filter((f) => f.closedAt !== undefined && !f.settled && f.ends.length === 0);
    assert.ok(waiting.length <= MAX_UNSETTLED, `${what}: ${waiting.length} waiting`);
    for (const f of waiting) assert.ok(f.closedAt! > clock - UNSETTLED_MS, `${what}: one whose invocations closed ${clock - f.closedAt!} ms ago still waits`);
  };
  for (let k = 0; k < 3; k++) start();
  for (let step = 0; step < 3_000; step++) {
    const r = rnd();
    clock += Math.floor(rnd() * (r < 0.01 ? 2 * UNSETTLED_MS : 300));
    if (r < 0.4) {
      for (let k = Math.floor(rnd() * 4); k > 0; k--) {
        const f: F = Object.assign(fake(), { of: new Set(live) });
        if (live.size === 0) f.closedAt = clock;
        f.settle = awaiting(f.span, invocation()); // outside any handler's synchronous run, as after an await
        all.push(f);
        if (live.size > 1) held.push(f);
        if (held.length > MAX_UNSETTLED) {
          const o = held.shift()!;
          o.closedAt = clock; // its wait starts now, whoever is still open
          o.of.clear();
          moved++;
        }
      }
    } else if (r < 0.55) {
      const f = all[Math.floor(rnd() * all.length)];
      if (f && !f.settled && f.ends.length === 0) {
        f.settle!();
        f.settled = true;
        unhold(f);
      }
    } else if (r < 0.75) {
      if (live.size > (step < 1_500 ? 2 : 0)) finish([...live][Math.floor(rnd() * live.size)]!);
    } else {
      start(); // an invocation starts: the check runs
      check(`step ${step}`);
    }
  }
  for (const inv of [...live]) finish(inv);
  clock += UNSETTLED_MS;
  close(track(undefined));
  check('at the end');
  assert.ok(moved > 0, 'more than MAX_UNSETTLED were held at once');
  const left = all.filter((f) => !f.settled);
  assert.ok(left.length > 50 && all.length - left.length > 50, `${left.length} never settled, ${all.length - left.length} did`);
  assert.deepEqual(left.filter((f) => f.ends.length !== 1).length, 0, 'every unsettled one ended once');
});

test('the module: a handler cancelled before it returns (it never closes) holds at most MAX_UNSETTLED of the fetches of unknown invocation started while it is open', () => {
  setClock(() => clock, 0);
  const rnd = prng(0x2b1e);
  clock += 2 * UNSETTLED_MS;
  close(track(undefined));
  const cancelled = track(fake().span);
  const fetches: Fake[] = [];
  for (let round = 0; round < 300; round++) {
    const invs = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => track(fake().span));
    // Forgotten after an await: never settle.
    for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
      const f = fake();
      awaiting(f.span, invocation());
      fetches.push(f);
    }
    clock += Math.floor(rnd() * 2_000);
    for (const i of invs) {
      returned(i);
      close(i);
    }
    const waiting = fetches.filter((f) => f.ends.length === 0).length;
    assert.ok(waiting <= 2 * MAX_UNSETTLED + 8, `round ${round}: ${waiting} of ${fetches.length} still held`);
  }
  assert.ok(fetches.length > 2 * MAX_UNSETTLED + 8, `${fetches.length} fetches`);
  close(cancelled); // evicted at last (MAX_OPEN)
  clock += UNSETTLED_MS;
  close(track(undefined));
  assert.equal(fetches.filter((f) => f.ends.length !== 1 || !f.marked).length, 0, 'each ended once, marked');
});

test('the module: an invocation whose waitUntil work never settles is over WAIT_UNTIL_MS after its return, however late the next invocation finds it', () => {
  setClock(() => clock, 0);
  const rnd = prng(0x3010);
  track(undefined);
  clock += 2 * UNSETTLED_MS; // what earlier tests left is over
  track(undefined);
  const all: Array<Fake & { over: number }> = [];
  for (let round = 0; round < 200; round++) {
    // A few return (their waitUntil work never settles: close is never called), each with fetches still waiting.
    for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
      const inv = track(fake().span);
      const fetches = Array.from({ length: 1 + Math.floor(rnd() * 2) }, fake);
      enter(inv, () => {
        for (const f of fetches) f.settle = awaiting(f.span, invocation());
      });
      clock += Math.floor(rnd() * 1_000);
      returned(inv);
      all.push(...fetches.map((f) => Object.assign(f, { over: clock + WAIT_UNTIL_MS })));
    }
    // The isolate idles from a second to ten minutes; then an invocation starts, and another UNSETTLED_MS later.
    clock += 1_000 + Math.floor(rnd() * (rnd() < 0.5 ? 60_000 : 600_000));
    track(undefined);
    clock += UNSETTLED_MS;
    track(undefined);
    for (const f of all) {
      if (f.over > clock - UNSETTLED_MS) continue;
      assert.deepEqual(f.ends, [f.over], `round ${round}: ended once, when its invocation stopped counting (${f.ends[0]! - f.over} ms off)`);
      assert.ok(f.marked);
    }
  }
  assert.ok(all.length > 400, `${all.length} fetches`);
});

test('the module: a fetch its invocation (known by AsyncLocalStorage) starts after it stopped counting waits UNSETTLED_MS from its start, not from that earlier time', async () => {
  setClock(() => clock, 0);
  clock += 2 * UNSETTLED_MS;
  close(track(undefined)); // what earlier tests left is over
  const inv = track(fake().span);
  const f = fake();
  let resume!: () => void;
  const gate = new Promise<void>((r) => (resume = r));
  let started!: Promise<void>;
  enter(inv, () => {
    // A streamed body's producer (its waitUntil work still unsettled: the invocation is not closed): it fetches later.
    started = (async () => {
      await gate;
      f.settle = awaiting(f.span, invocation());
    })();
  });
  returned(inv);
  clock += WAIT_UNTIL_MS + UNSETTLED_MS + 10_000; // the body streamed on
  resume();
  await started;
  const at = clock;
  clock += 1_000;
  track(undefined); // the next invocation, 1 s into that fetch: it finds the first one stopped counting
  assert.deepEqual(f.ends, [], 'a fetch 1 s old still waits for its answer');
  clock += UNSETTLED_MS;
  close(track(undefined));
  assert.deepEqual(f.ends, [at], 'forgotten: ended at its start, as one of no invocation in flight');
  assert.ok(f.marked);
});

describe('in workerd', () => {
  let collector: Collector;
  let upstream: Upstream;
  let mf: Miniflare;
  let tags = 0;
  /** Takes connections and never answers. */
  let silent: Server;

  before(async () => {
    collector = await startCollector();
    upstream = await startUpstream();
    silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const bindings = { SILENT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, UPSTREAM: upstream.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'unsettled' };
    mf = startWorkers(guessAndAls('unsettled.mjs', bindings));
    await mf.ready;
  });

  after(async () => {
    await mf?.dispose();
    await upstream?.close();
    silent?.close();
    await collector?.close();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function call(host: string, path: string) {
    const res = await mf.dispatchFetch(`http://${host}.example${path}`);
    assert.equal(res.status, 200, path);
    return (await res.json()) as Record<string, unknown>;
  }
  /** `n` requests whose handlers hang, each in a trace of its own: the runtime answers each 500. */
  async function hang(host: string, n: number, rnd: () => number) {
    const traces = new Set<string>();
    for (let i = 0; i < n; i += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, n - i) }, async () => {
          const t = Array.from({ length: 4 }, () => Math.floor(rnd() * 2 ** 32).toString(16).padStart(8, '0')).join('');
          traces.add(t);
          const res = await mf.dispatchFetch(`http://${host}.example/hang`, { headers: { traceparent: `00-${t}-00f067aa0ba902b7-01` } });
          assert.equal(res.status, 500, await res.text());
        }),
      );
    }
    return traces;
  }
  const serversOf = (traceIds: Set<unknown>) => collector.spans().filter((s) => s.kind === 2 && traceIds.has(s.traceId));
  /** `traces`' SERVER spans once `count` have arrived, checked: marked, no status code. */
  async function hungSpans(traces: Set<unknown>, count: number, what: string, lastedMs?: number) {
    await collector.waitFor(() => serversOf(traces).length >= count, 15_000).catch(() => assert.fail(`${what}: ${serversOf(traces).length} of ${count}`));
    await sleep(300);
    const spans = serversOf(traces);
    assert.equal(spans.length, count, `${what}: each once`);
    for (const s of spans) {
      const a = attrs(s.attributes);
      assert.equal(a['wasmtrace.unsettled'], true, JSON.stringify(a));
      assert.equal(a['http.response.status_code'], undefined, 'it never answered');
      assert.equal(s.parentSpanId, '00f067aa0ba902b7', 'the caller\'s child');
      const ms = Number((BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1_000_000n);
      if (lastedMs !== undefined) assert.ok(Math.abs(ms - lastedMs) <= 1, `${what}: ${ms} ms, not ${lastedMs}`);
    }
  }
  const clientsOf = (traceIds: Set<unknown>) => collector.spans().filter((s) => s.kind === 3 && traceIds.has(s.traceId));

  for (const host of ['guess', 'als']) {
    test(`${host}: fetches never awaited in a span of the handler's own, after an await, with others in flight, end too`, async () => {
      const rnd = prng(host === 'als' ? 0xe0 : 0xe1);
      const n = 16 + Math.floor(rnd() * 16); // requests, all in flight at once, 2 fetches each
      const tag = `n${++tags}`;
      await Promise.all(Array.from({ length: n }, (_, i) => call(host, `/nested?n=2&tag=${tag}-${i}&wait=${20 + Math.floor(rnd() * 200)}`)));
      await sleep(2_500);
      await call(host, `/advance?ms=${UNSETTLED_MS + 1}`);
      await call(host, '/plain');
      const mine = () => collector.spans().filter((s) => s.kind === 3 && String(attrs(s.attributes)['url.full']).includes(`tag=${tag}-`));
      await collector.waitFor(() => mine().length >= 2 * n, 15_000).catch(() => assert.fail(`${mine().length} of ${2 * n} exported`));
      await sleep(300);
      const spans = mine();
      assert.equal(spans.length, 2 * n, 'each once');
      const nested = new Map(collector.spans().filter((s) => s.name === 'nested').map((s) => [s.spanId, s]));
      for (const s of spans) {
        assert.equal(attrs(s.attributes)['wasmtrace.unsettled'], true);
        assert.equal(nested.get(s.parentSpanId)?.traceId, s.traceId, 'a child of its nested span');
      }
      const stats = await call(host, '/stats');
      assert.equal(stats.droppedSpans, 0, JSON.stringify(stats));
    });

    test(`${host}: fetches never awaited are exported once ${UNSETTLED_MS / 1000} s have passed, at their invocation's end, marked; beyond ${MAX_UNSETTLED} waiting sooner; none is lost`, async () => {
      const rnd = prng(host === 'als' ? 0xf0 : 0xf1);
      const n = MAX_UNSETTLED / 2 + 20 + Math.floor(rnd() * 40); // requests, 2 fetches each: past the cap
      const ids = new Map<string, string>(); // trace id -> the request's span id
      for (let i = 0; i < n; i += 16) {
        const batch = await Promise.all(Array.from({ length: Math.min(16, n - i) }, () => call(host, `/forget?n=2&tag=f${++tags}`)));
        for (const b of batch) ids.set(b.traceId as string, b.spanId as string);
      }
      const traces = new Set<unknown>(ids.keys());
      // Their answers would have come after 2 s: none does (workerd cancelled them).
      await sleep(2_500);
      await call(host, '/plain');
      const early = 2 * n - MAX_UNSETTLED;
      await collector.waitFor(() => clientsOf(traces).length >= early, 15_000).catch(() => assert.fail(`${clientsOf(traces).length} of ${early} past the cap`));
      await sleep(300);
      assert.equal(clientsOf(traces).length, early, 'the cap ends only the oldest beyond it');
      await call(host, `/advance?ms=${UNSETTLED_MS + 1}`);
      await call(host, '/plain');
      await collector.waitFor(() => clientsOf(traces).length >= 2 * n, 15_000).catch(() => assert.fail(`${clientsOf(traces).length} of ${2 * n}`));
      const spans = clientsOf(traces);
      assert.equal(spans.length, 2 * n, 'each once');
      for (const s of spans) {
        const a = attrs(s.attributes);
        assert.equal(a['wasmtrace.unsettled'], true, JSON.stringify(a));
        assert.equal(a['http.response.status_code'], undefined, 'no answer came');
        assert.equal(s.parentSpanId, ids.get(s.traceId), 'a child of its request');
        const ms = Number((BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1_000_000n);
        assert.ok(ms >= 0 && ms < 2_000, `ended at its invocation's end, ${ms} ms after its start`);
      }
      const stats = await call(host, '/stats');
      assert.equal(stats.droppedSpans, 0, JSON.stringify(stats));
    });

    test(`${host}: handlers the runtime cancelled (hung) are exported ${MAX_RUN_MS / 60_000} min after they began, marked; beyond ${MAX_RUNNING} running at once sooner, the oldest`, async () => {
      const rnd = prng(host === 'als' ? 0xa1 : 0xa2);
      const few = await hang(host, 1 + Math.floor(rnd() * 6), rnd);
      await call(host, '/plain');
      await sleep(500);
      assert.equal(serversOf(few).length, 0, 'not while they may still run');
      // The next request comes twice MAX_RUN_MS later: they are ended at the time they reached it, not at this one.
      await call(host, `/advance?ms=${2 * MAX_RUN_MS}`);
      await call(host, '/plain');
      await hungSpans(few, few.size, `${few.size} hung, ${(2 * MAX_RUN_MS) / 60_000} min later`, MAX_RUN_MS);
      const k = 1 + Math.floor(rnd() * 30);
      const many = [...(await hang(host, MAX_RUNNING + k, rnd))];
      // This request (which exports what has ended) is one more beyond MAX_RUNNING: k + 1 of the oldest.
      await call(host, '/plain');
      await hungSpans(new Set(many), k + 1, `${MAX_RUNNING + k} hung, beyond ${MAX_RUNNING}`);
      await call(host, `/advance?ms=${MAX_RUN_MS + 1}`);
      await call(host, '/plain');
      await hungSpans(new Set(many), many.length, `${MAX_RUNNING + k} hung, ${MAX_RUN_MS / 60_000} min later`);
      const stats = await call(host, '/stats');
      assert.equal(stats.droppedSpans, 0, JSON.stringify(stats));
    });
  }
  for (const host of ['guess', 'als']) {
    test(`${host}: a fetch forgotten in an invocation whose waitUntil work never settles ends ${WAIT_UNTIL_MS / 1000} s after its return, not when the next invocation comes`, async () => {
      const rnd = prng(host === 'als' ? 0xd0 : 0xd1);
      const tag = `w${++tags}`;
      await call(host, `/never?tag=${tag}`);
      // The isolate idles for minutes (the clock the test moves); then invocations come.
      const idle = 60_000 + Math.floor(rnd() * 600_000);
      await call(host, `/advance?ms=${idle}`);
      await call(host, '/plain');
      await call(host, `/advance?ms=${UNSETTLED_MS + 1}`);
      await call(host, '/plain');
      const mine = () => collector.spans().filter((s) => s.kind === 3 && String(attrs(s.attributes)['url.full']).includes(`tag=${tag}`));
      await collector.waitFor(() => mine().length >= 1, 15_000).catch(() => assert.fail('not exported'));
      const [s] = mine();
      assert.equal(attrs(s!.attributes)['wasmtrace.unsettled'], true);
      const ms = Number((BigInt(s!.endTimeUnixNano) - BigInt(s!.startTimeUnixNano)) / 1_000_000n);
      assert.ok(ms >= WAIT_UNTIL_MS && ms < WAIT_UNTIL_MS + 2_000, `ended ${ms} ms after its start (idle ${idle} ms)`);
    });
  }
});
