// Run by bench/memory.mjs as `node --expose-gc memory-child.mjs <sdk> <spans>`:
// measures the JS heap held by <spans> ended-but-unexported spans of one SDK
// (and, for wasmtrace, how many spans it buffers before the first drop while
// the collector never answers). Prints JSON.
import { ourTracer } from './ours.mjs';
import { otelTracer } from './otel.mjs';
import { oneSpan } from './workload.mjs';

const [sdk, nArg] = process.argv.slice(2);
const n = Number(nArg);
/**
 * Spans made before measuring: V8 optimises the workload's code within the
 * first thousands, and that code and its feedback landing inside a measured
 * round moved wasmtrace's figure between ~35 and ~290 B/span from one child
 * to the next (64 warm-up spans, as before 2026-12-06).
 */
const WARMUP = 5000;
/** Measured rounds per child; the median is its figure. */
const ROUNDS = 5;
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

const heap = () => {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
};

/** The median heap delta per span over ROUNDS rounds of `n` spans, each round after `flush()` empties the buffer. */
async function heapPerSpan(tracer, flush) {
  for (let i = 0; i < WARMUP; i++) oneSpan(tracer);
  const deltas = [];
  for (let r = 0; r < ROUNDS; r++) {
    await flush();
    const before = heap();
    for (let i = 0; i < n; i++) oneSpan(tracer);
    deltas.push((heap() - before) / n);
  }
  await flush();
  return deltas.sort((a, b) => a - b)[ROUNDS >> 1];
}

const out = { sdk, spans: n };
if (sdk === 'wasmtrace') {
  const { tracer } = await ourTracer({ transport: async () => {}, maxExportBatchSize: 100_000 });
  out.heapPerSpan = await heapPerSpan(tracer, () => tracer.flush());
  const s = tracer.stats();
  if (s.droppedSpans || s.droppedData) throw new Error(`dropped spans while measuring: ${JSON.stringify(s)}`);
  await tracer.shutdown();
  // Capacity: spans buffered (in Wasm, then as encoded batches up to
  // maxQueueBytes) before the first drop, the collector never answering.
  const { tracer: stuck } = await ourTracer({ transport: () => new Promise(() => {}), maxExportBatchSize: 100_000 });
  let cap = 0;
  for (; cap < 1_000_000; cap++) {
    oneSpan(stuck);
    const d = stuck.stats();
    if (d.droppedSpans || d.droppedData || d.droppedQueueFull) break;
  }
  out.capacity = cap;
  process.stdout.write(JSON.stringify(out));
  process.exit(0); // the stuck tracer's requests never end
} else {
  const { tracer, provider } = otelTracer({ sink: () => {}, maxExportBatchSize: 100_000, maxQueueSize: n + 1000 });
  out.heapPerSpan = await heapPerSpan(tracer, () => provider.forceFlush());
  await provider.shutdown();
  process.stdout.write(JSON.stringify(out));
}
