// setClock with bad input: refused with a warning (the clock in use stays),
// and a user clock that throws never keeps shutdown() from delivering the
// spans that already ended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../../src/node.js';
import { setClock } from '../../src/clock.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';

async function tracerWithSink() {
  const bodies: Uint8Array[] = [];
  const tracer = await init({ serviceName: 'clock', wasm: protoWasm, storage: null, compression: 'none', transport: async (b: Uint8Array) => (bodies.push(b), { status: 200 }) });
  return { tracer, names: () => bodies.flatMap((b) => allSpans(decodeProtobuf(b)).map((s) => s.name)).sort() };
}

test('setClock: a non-function or a non-finite origin is refused with a warning; spans go on being recorded with the clock in use', async (t) => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.map(String).join(' '));
  t.after(() => {
    console.warn = warn;
    setClock(() => performance.now(), performance.timeOrigin);
  });
  const { tracer, names } = await tracerWithSink();
  const bad: unknown[] = [undefined, null, 0, 'now', {}, [], Symbol('c'), 1n];
  for (const [i, fn] of bad.entries()) {
    setClock(fn as () => number);
    const span = tracer.startSpan(`after-${i}`);
    assert.equal(span.isRecording(), true, String(typeof fn));
    span.end();
  }
  setClock(() => performance.now(), NaN);
  assert.ok(warnings.some((w) => w.includes('bad clock ')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('bad clock origin NaN')), warnings.join('\n'));
  await tracer.shutdown();
  assert.deepEqual(names(), bad.map((_, i) => `after-${i}`).sort());
});

test('a user clock that throws: shutdown() still delivers every span that ended', async (t) => {
  t.after(() => setClock(() => performance.now(), performance.timeOrigin));
  const { tracer, names } = await tracerWithSink();
  for (let i = 0; i < 5; i++) tracer.startSpan(`ok-${i}`).end();
  setClock(() => {
    throw new Error('clock broke');
  });
  assert.doesNotThrow(() => tracer.startSpan('during').end());
  const r = await tracer.shutdown();
  assert.equal(r.sent, 5);
  assert.deepEqual(names(), [0, 1, 2, 3, 4].map((i) => `ok-${i}`));
});
