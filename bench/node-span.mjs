// Per span in Node: start + 3 attributes + end + protobuf encode, wasmtrace
// against the OpenTelemetry JS SDK (BatchSpanProcessor + ProtobufTraceSerializer)
// in the same process, interleaved rounds. Once with the real clock, once with
// performance.now()/Date.now() replaced by a counter in both (the SDKs' own work).
// Encoding is included: each batch of 512 spans is flushed and serialized.
import { figure } from './lib/figure.mjs';
import { interleave, nsSince } from './lib/interleave.mjs';
import { withFakeClock } from './lib/fake-clock.mjs';
import { ourTracer } from './lib/ours.mjs';
import { otelTracer, OTEL_NAME } from './lib/otel.mjs';
import { BATCH, spanRound as round } from './lib/workload.mjs';

export async function run({ smoke = false } = {}) {
  const batches = smoke ? 1 : 40;
  const rounds = smoke ? 2 : 15;
  const warmup = smoke ? 0 : 2;

  let ourBytes = 0;
  let theirBytes = 0;
  const ours = await ourTracer({ transport: async (body) => void (ourBytes += body.length), maxExportBatchSize: BATCH });
  const otel = otelTracer({ sink: (bytes) => void (theirBytes += bytes.length), maxExportBatchSize: BATCH });
  const cases = {
    wasmtrace: () => round(ours.tracer, () => ours.tracer.flush(), batches),
    otel: () => round(otel.tracer, () => otel.provider.forceFlush(), batches),
  };

  const real = await interleave(cases, { rounds, warmup });
  // Wire bytes from one clean batch of each (the counters above include warm-up).
  ourBytes = theirBytes = 0;
  await round(ours.tracer, () => ours.tracer.flush(), 1);
  await round(otel.tracer, () => otel.provider.forceFlush(), 1);
  const wire = { ours: ourBytes / BATCH, theirs: theirBytes / BATCH };

  const fake = await withFakeClock(() => interleave(cases, { rounds, warmup }));

  // The floor both SDKs share with a real clock: two performance.now() reads.
  const clockNs = [];
  for (let r = 0; r < rounds; r++) {
    const n = 200_000;
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += performance.now() + performance.now();
    clockNs.push(nsSince(t0) / n + (sink < 0 ? 1 : 0));
  }

  await ours.tracer.shutdown();
  await otel.provider.shutdown();
  const note = `${batches * BATCH} spans/round, flush every ${BATCH}; wasmtrace via ${ours.via}`;
  return [
    figure({ name: 'per span, Node, real clock', unit: 'ns/span', ours: real.wasmtrace, theirs: real.otel, rivalName: OTEL_NAME, note }),
    figure({ name: 'per span, Node, clock = counter', unit: 'ns/span', ours: fake.wasmtrace, theirs: fake.otel, rivalName: OTEL_NAME, note }),
    figure({ name: 'two performance.now() reads, Node (clock floor of both)', unit: 'ns/span', ours: clockNs }),
    figure({ name: 'protobuf bytes per span, this batch', unit: 'B/span', ours: [wire.ours], theirs: [wire.theirs], rivalName: OTEL_NAME, note: `${BATCH} spans, 3 attributes, one request` }),
  ];
}
