// The cost of smart sampling: per span (start + 3 attributes + end + encode)
// with tail sampling on — every span held in Wasm until its trace's root ends,
// then kept or freed — against the sampler off, in the same process,
// interleaved. Each trace is a root with one child; 1% of traces fail.
import { figure } from './lib/figure.mjs';
import { interleave, nsSince } from './lib/interleave.mjs';
import { withFakeClock } from './lib/fake-clock.mjs';
import { ourTracer } from './lib/ours.mjs';
import { BATCH } from './lib/workload.mjs';

/** `batches` × BATCH spans as root + child traces; returns ns per span. */
async function round(tracer, batches) {
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < BATCH / 2; i++) {
      const root = tracer.startSpan('request');
      root.setAttribute('http.method', 'GET');
      const child = tracer.startSpan('db', {}, root);
      child.setAttribute('db.rows', 12);
      child.setAttribute('cache.hit', false);
      if (i % 100 === 0) child.setStatus({ code: 2, message: 'failed' });
      child.end();
      root.setAttribute('http.status_code', 200);
      root.end();
    }
    await tracer.flush();
  }
  return nsSince(t0) / (batches * BATCH);
}

export async function run({ smoke = false } = {}) {
  const batches = smoke ? 1 : 40;
  const rounds = smoke ? 2 : 15;
  const warmup = smoke ? 0 : 2;
  const sink = async () => {};
  const off = await ourTracer({ transport: sink, sampler: { ratio: 1 } });
  const on = await ourTracer({ transport: sink, sampler: { ratio: 0.01, keepErrors: true, slowMs: 2000 } });
  const cases = {
    on: () => round(on.tracer, batches),
    off: () => round(off.tracer, batches),
  };
  const fake = await withFakeClock(() => interleave(cases, { rounds, warmup }));
  await on.tracer.shutdown();
  await off.tracer.shutdown();
  return [
    figure({
      name: 'per span with tail sampling on (ratio 0.01, keep errors, slow 2 s), clock = counter',
      unit: 'ns/span',
      ours: fake.on,
      theirs: fake.off,
      rivalName: 'wasmtrace with the sampler off (ratio 1)',
      note: 'root + child traces, 1% failing; "ratio" < 1 means sampling costs that much more per span',
    }),
  ];
}
