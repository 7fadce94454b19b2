// Where a span's time goes, in Node, with the clock replaced by a counter:
// the public API (dist/node.js) against the raw Wasm exports of the same
// module (dist/wasmtrace.wasm) driven with numbers only. The difference is
// what the TypeScript layer costs; the raw figures are the hot path itself.
// Each figure is the fastest of many rounds of 512 spans (the cost without
// the machine's noise, so that parts can be compared); per-span figures for
// the whole pipeline are node-span's.
//
//   node bench/run.mjs breakdown
import { readFileSync } from 'node:fs';
import { figure } from './lib/figure.mjs';
import { withFakeClock } from './lib/fake-clock.mjs';
import { dist } from './lib/paths.mjs';
import { otelTracer, OTEL_NAME } from './lib/otel.mjs';
import { oneSpan } from './lib/workload.mjs';

const N = 512;
const NOTE = 'fastest of the rounds, 512 spans each, clock = counter';

/** The Wasm module on its own: seeded, configured, with the workload's keys interned. */
async function rawModule() {
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL('wasmtrace.wasm', dist)), {});
  const x = instance.exports;
  const u8 = new Uint8Array(x.memory.buffer);
  const io = x.io();
  crypto.getRandomValues(u8.subarray(io, io + 32));
  x.seed();
  x.configure(Date.now(), 1, 128, 128, 128, 128);
  const encoder = new TextEncoder();
  const intern = (s) => x.intern(encoder.encodeInto(s, u8.subarray(io)).written);
  return { x, u8, io, name: intern('op'), keys: ['http.method', 'http.status_code', 'cache.hit'].map(intern) };
}

/** Fastest time of `fn()` over `rounds`, per span; `after()` (untimed) runs between rounds. */
function fastest(rounds, fn, after) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns < best) best = ns;
    after();
  }
  return best / N;
}

export async function run({ smoke = false } = {}) {
  const rounds = smoke ? 20 : 2000;
  const { x, u8, io, name, keys } = await rawModule();
  const [k1, k2, k3] = keys;
  let t = 0;
  const drain = () => {
    while (x.encode(60 * 1024) > 0) x.commit(); // the spans leave Wasm once the host holds the bytes
  };
  const mod = await import(new URL('node.js', dist).href);
  const tracer = await mod.init({
    serviceName: 'bench', transport: async () => ({ status: 200 }), storage: null, compression: 'none',
    maxExportBatchSize: N, scheduledDelayMs: 3_600_000,
  });

  const f = await withFakeClock(async () => {
    const rawSpan = fastest(rounds, () => {
      for (let i = 0; i < N; i++) x.end(x.start(name, 0, 0, 0, 0, 0, 0, 0, 0, (t += 0.001)), (t += 0.001));
    }, drain);
    const rawAttrs = fastest(rounds, () => {
      for (let i = 0; i < N; i++) {
        const h = x.start(name, 0, 0, 0, 0, 0, 0, 0, 0, (t += 0.001));
        u8[io] = 71; // 'GET'
        u8[io + 1] = 69;
        u8[io + 2] = 84;
        x.attr(h, k1, 1, 0, 3);
        x.attr(h, k2, 3, 200, 0);
        x.attr(h, k3, 2, 1, 0);
        x.end(h, (t += 0.001));
      }
    }, drain);
    // Encoding alone: the spans are made untimed, then encoded.
    let encode = Infinity;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < N; i++) {
        const h = x.start(name, 0, 0, 0, 0, 0, 0, 0, 0, (t += 0.001));
        x.attr(h, k2, 3, 200, 0);
        x.attr(h, k3, 2, 1, 0);
        x.attr(h, k1, 3, 7, 0);
        x.end(h, (t += 0.001));
      }
      const t0 = process.hrtime.bigint();
      drain();
      encode = Math.min(encode, Number(process.hrtime.bigint() - t0) / N);
    }
    const apiSpan = fastest(rounds, () => {
      for (let i = 0; i < N; i++) tracer.startSpan('op').end();
    }, () => void tracer.flush());
    await tracer.flush();
    const apiAttrs = fastest(rounds, () => {
      for (let i = 0; i < N; i++) {
        const s = tracer.startSpan('op');
        s.setAttribute('http.method', 'GET');
        s.setAttribute('http.status_code', 200);
        s.setAttribute('cache.hit', true);
        s.end();
      }
    }, () => void tracer.flush());
    await tracer.flush();
    // A flush's fixed cost: one span per flush, through the whole pipeline.
    let flushOne = Infinity;
    for (let r = 0; r < rounds; r++) {
      tracer.startSpan('op').end();
      const t0 = process.hrtime.bigint();
      await tracer.flush();
      flushOne = Math.min(flushOne, Number(process.hrtime.bigint() - t0));
    }
    // The whole workload as node-span runs it (start + 3 attributes + end, a
    // flush per 512), split into making the spans and flushing them, and the
    // OpenTelemetry SDK's whole batch beside it: fastest rounds, alternating.
    const otel = otelTracer({ sink: () => {}, maxExportBatchSize: N });
    let make = Infinity;
    let flush = Infinity;
    let whole = Infinity;
    let otelWhole = Infinity;
    for (let r = 0; r < Math.min(rounds, 400); r++) {
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) oneSpan(tracer);
      const t1 = process.hrtime.bigint();
      await tracer.flush();
      const t2 = process.hrtime.bigint();
      make = Math.min(make, Number(t1 - t0) / N);
      flush = Math.min(flush, Number(t2 - t1) / N);
      whole = Math.min(whole, Number(t2 - t0) / N);
      t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) oneSpan(otel.tracer);
      await otel.provider.forceFlush();
      otelWhole = Math.min(otelWhole, Number(process.hrtime.bigint() - t0) / N);
    }
    await otel.provider.shutdown();
    return { rawSpan, rawAttrs, encode, apiSpan, apiAttrs, flushOne, make, flush, whole, otelWhole };
  });
  await tracer.shutdown();

  const one = (figName, unit, v, note = NOTE) => figure({ name: figName, unit, ours: [v], note });
  return [
    one('start + end, public API', 'ns/span', f.apiSpan),
    one('start + end, raw Wasm calls', 'ns/span', f.rawSpan),
    one('3 attributes, public API', 'ns/span', Math.max(f.apiAttrs - f.apiSpan, 0.1)),
    one('3 attributes, raw Wasm calls', 'ns/span', Math.max(f.rawAttrs - f.rawSpan, 0.1)),
    one('protobuf encoding of a 3-attribute span (Wasm)', 'ns/span', f.encode),
    one('fixed cost of a flush (1 span, whole pipeline)', 'µs/flush', f.flushOne / 1000, 'fastest of the rounds, custom transport, no storage, no gzip'),
    one('whole workload: making the spans (public API)', 'ns/span', f.make, 'fastest of 400 batches of 512, then flushed'),
    one('whole workload: flushing them (encode, body copy, pipeline)', 'ns/span', f.flush, 'fastest of 400 flushes of 512 spans, custom transport'),
    figure({ name: 'whole workload, fastest batch', unit: 'ns/span', ours: [f.whole], theirs: [f.otelWhole], rivalName: OTEL_NAME,
      note: 'fastest of 400 batches of 512 spans each, alternating, clock = counter: the ratio without the machine\'s noise' }),
  ];
}
