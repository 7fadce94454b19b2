// The Node entry's async context: the active span and baggage hold across
// awaits, timers and promise chains (AsyncLocalStorage), and concurrent
// startActiveSpan calls never see each other's. Spans are exported through
// the real pipeline and decoded by the independent decoder to check parents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { init } from '../../src/node.js';
import type { Span } from '../../src/types.js';
import type { Tracer } from '../../src/tracer.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

async function tracing(): Promise<{ tracer: Tracer; spans(): Promise<FlatSpan[]> }> {
  const bodies: Uint8Array[] = [];
  const tracer = await init({
    serviceName: 'node-context-test', wasm: protoWasm, storage: null, compression: 'none',
    transport: async (body) => (bodies.push(body), { status: 200 }),
  });
  return {
    tracer,
    async spans() {
      await tracer.flush();
      return bodies.flatMap((b) => allSpans(decodeProtobuf(b)));
    },
  };
}

const idOf = (s: Span): string => s.spanContext().spanId;
/** Starts and ends a span; its id. */
const child = (tracer: Tracer, name: string): string => {
  const s = tracer.startSpan(name);
  s.end();
  return idOf(s);
};

/** One way for a continuation to come back later. */
const waits: Array<(r: () => number) => Promise<unknown>> = [
  () => Promise.resolve(),
  () => immediate(),
  (r) => sleep(Math.floor(r() * 3)),
  () => new Promise((res) => setTimeout(res, 0)),
  () => new Promise<void>((res) => queueMicrotask(res)),
  () => new Promise((res) => process.nextTick(res)),
  () => Promise.resolve().then(() => undefined).then(() => undefined),
];

test('after await, setTimeout and promise chains the active span parents new spans; getActiveSpan() too', async () => {
  const { tracer, spans } = await tracing();
  const kids: Record<string, string> = {};
  const outer = await tracer.startActiveSpan('a', async (a) => {
    await Promise.resolve();
    kids.afterAwait = child(tracer, 'b');
    assert.equal(tracer.getActiveSpan(), a, 'after an await');
    await new Promise<void>((res) => setTimeout(() => {
      kids.inTimer = child(tracer, 'c');
      assert.equal(tracer.getActiveSpan(), a, 'in a timer callback');
      res();
    }, 2));
    await Promise.resolve(1).then(() => void (kids.inThen = child(tracer, 'd')));
    await tracer.startActiveSpan('e', async (e) => {
      await immediate();
      kids.nested = child(tracer, 'f');
      assert.equal(tracer.getActiveSpan(), e);
      e.end();
    });
    assert.equal(tracer.getActiveSpan(), a, 'the nested span is no longer active once its callback is done');
    kids.afterNested = child(tracer, 'g');
    a.end();
    return a;
  });
  assert.equal(tracer.getActiveSpan(), undefined, 'nothing active outside');
  const all = await spans();
  const byId = new Map(all.map((s) => [s.spanId, s]));
  for (const [where, id] of Object.entries(kids)) {
    const want = where === 'nested' ? all.find((s) => s.name === 'e')!.spanId : idOf(outer);
    assert.equal(byId.get(id)?.parentSpanId, want, where);
    assert.equal(byId.get(id)?.traceId, outer.spanContext().traceId, where);
  }
  await tracer.shutdown();
});

test('300 concurrent startActiveSpan calls (seeded interleavings, with baggage) never see each other', async () => {
  const { tracer, spans } = await tracing();
  const r = prng(0xa5c);
  const expect = new Map<string, { parent: string; baggage: string }>(); // span name → its expected parent, baggage
  const task = (i: number) => tracer.withBaggage({ task: String(i) }, () =>
    tracer.startActiveSpan(`t${i}`, async (root) => {
      const steps = 1 + Math.floor(r() * 5);
      const plan = Array.from({ length: steps }, () => [Math.floor(r() * waits.length), r() < 0.3] as const);
      for (let k = 0; k < plan.length; k++) {
        const [w, nest] = plan[k]!;
        await waits[w]!(r);
        assert.equal(tracer.getActiveSpan(), root, `t${i} step ${k}`);
        assert.equal(tracer.getBaggage().task, String(i), `t${i} step ${k}: baggage`);
        if (nest) {
          await tracer.startActiveSpan(`t${i}.n${k}`, async (n) => {
            expect.set(`t${i}.n${k}`, { parent: idOf(root), baggage: `task=${i}` });
            await waits[(w + 1) % waits.length]!(r);
            expect.set(`t${i}.n${k}.c`, { parent: idOf(n), baggage: `task=${i}` });
            tracer.startSpan(`t${i}.n${k}.c`).end();
            n.end();
          });
        } else {
          expect.set(`t${i}.c${k}`, { parent: idOf(root), baggage: `task=${i}` });
          tracer.startSpan(`t${i}.c${k}`).end();
        }
        const carrier: Record<string, string> = {};
        tracer.inject(carrier);
        assert.equal(carrier.traceparent?.split('-')[2], idOf(root), `t${i} step ${k}: inject`);
        assert.equal(carrier.baggage, `task=${i}`);
      }
      root.end();
    }),
  );
  await Promise.all(Array.from({ length: 300 }, (_, i) => task(i)));
  assert.equal(tracer.getActiveSpan(), undefined);
  assert.deepEqual({ ...tracer.getBaggage() }, {});
  const all = await spans();
  const byName = new Map(all.map((s) => [s.name, s]));
  assert.equal(all.length, 300 + expect.size);
  assert.ok(expect.size > 600, `${expect.size} child spans`);
  for (const [name, want] of expect) {
    const s = byName.get(name);
    assert.equal(s?.parentSpanId, want.parent, name);
    assert.equal(s?.traceId, byName.get(name.split('.')[0]!)?.traceId, `${name}: its task's trace`);
  }
  await tracer.shutdown();
});

test('withBaggage across awaits: getBaggage, inject and spans started later carry it; outside, none', async () => {
  const { tracer } = await tracing();
  const inside = tracer.withBaggage({ 'user.id': 'alice' }, async () => {
    await sleep(1);
    assert.deepEqual({ ...tracer.getBaggage() }, { 'user.id': 'alice' });
    const plain: Record<string, string> = {};
    tracer.inject(plain);
    const fromSpan: Record<string, string> = {};
    tracer.inject(fromSpan, tracer.startSpan('later'));
    // An inner withBaggage holds inside only, also across its own awaits.
    await tracer.withBaggage({ 'user.id': 'bob' }, async () => {
      await immediate();
      assert.deepEqual({ ...tracer.getBaggage() }, { 'user.id': 'bob' });
    });
    await Promise.resolve();
    return [plain.baggage, fromSpan.baggage, tracer.getBaggage()['user.id']];
  });
  assert.deepEqual({ ...tracer.getBaggage() }, {}, 'not leaked to the caller');
  assert.deepEqual(await inside, ['user.id=alice', 'user.id=alice', 'alice']);
  await tracer.shutdown();
});

test('only the Node entry carries the async context: the browser, script and core bundles import no node: module', () => {
  for (const file of ['index.js', 'browser.js', 'wasmtrace.js']) {
    const code = readFileSync(new URL(`../../dist/${file}`, import.meta.url), 'utf8');
    assert.doesNotMatch(code, /node:|async_hooks|AsyncLocalStorage/, file);
  }
  assert.match(readFileSync(new URL('../../dist/node.js', import.meta.url), 'utf8'), /AsyncLocalStorage/);
});
