// Run by bench/memory.mjs as `node --expose-gc memory-child.mjs <sdk> <spans>`:
// measures the JS heap held by <spans> ended-but-unexported spans of one SDK
// (and, for wasmtrace, how many spans its fixed Wasm memory holds). Prints JSON.
import { ourTracer } from './ours.mjs';
import { otelTracer } from './otel.mjs';
import { oneSpan } from './workload.mjs';

const [sdk, nArg] = process.argv.slice(2);
const n = Number(nArg);
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

const heap = () => {
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed;
};

const out = { sdk, spans: n };
if (sdk === 'wasmtrace') {
  const { tracer } = await ourTracer({ transport: async () => {}, maxExportBatchSize: 100_000 });
  for (let i = 0; i < 64; i++) oneSpan(tracer); // warm the intern table and code
  await tracer.flush();
  const before = heap();
  for (let i = 0; i < n; i++) oneSpan(tracer);
  const after = heap();
  out.heapPerSpan = (after - before) / n;
  const s = tracer.stats();
  if (s.droppedSpans || s.droppedData) throw new Error(`dropped spans while measuring: ${JSON.stringify(s)}`);
  await tracer.flush();
  // Capacity: spans buffered before the fixed Wasm memory drops anything.
  let cap = 0;
  for (; cap < 1_000_000; cap++) {
    oneSpan(tracer);
    const d = tracer.stats();
    if (d.droppedSpans || d.droppedData) break;
  }
  out.capacity = cap;
  await tracer.shutdown();
} else {
  const { tracer, provider } = otelTracer({ sink: () => {}, maxExportBatchSize: 100_000, maxQueueSize: n + 1000 });
  for (let i = 0; i < 64; i++) oneSpan(tracer);
  await provider.forceFlush();
  const before = heap();
  for (let i = 0; i < n; i++) oneSpan(tracer);
  const after = heap();
  out.heapPerSpan = (after - before) / n;
  await provider.shutdown();
}
process.stdout.write(JSON.stringify(out));
