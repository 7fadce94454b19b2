// The per-span page: both SDKs in one page, each driven through its public API,
// exposed as window.bench for bench/browser-span.mjs to run in interleaved rounds.
import { init } from '../../src/index.ts';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BATCH, oneSpan } from '../lib/workload.mjs';

const realNow = performance.now.bind(performance);
const realDateNow = Date.now;
let bytes = { wasmtrace: 0, otel: 0, defaults: 0 };
let ours;
let defaults;
let otel;

window.bench = {
  async setup() {
    const tracer = await init({
      serviceName: 'bench', storage: null, compression: 'none', maxExportBatchSize: BATCH, scheduledDelayMs: 3_600_000,
      transport: async (body) => ((bytes.wasmtrace += body.length), { status: 200 }),
    });
    ours = { tracer, flush: () => tracer.flush() };
    // The same with what a page gets by default for a same-origin collector:
    // the localStorage write-ahead and gzip (CompressionStream).
    localStorage.clear();
    const paged = await init({
      serviceName: 'bench', compression: 'gzip', maxExportBatchSize: BATCH, scheduledDelayMs: 3_600_000,
      transport: async (body) => ((bytes.defaults += body.length), { status: 200 }),
    });
    defaults = { tracer: paged, flush: () => paged.flush() };
    const exporter = {
      export(spans, done) {
        bytes.otel += ProtobufTraceSerializer.serializeRequest(spans).length;
        done({ code: 0 });
      },
      shutdown: async () => {},
      forceFlush: async () => {},
    };
    const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': 'bench' }) });
    provider.addSpanProcessor(new BatchSpanProcessor(exporter, { maxExportBatchSize: BATCH, maxQueueSize: 2048, scheduledDelayMillis: 3_600_000 }));
    otel = { tracer: provider.getTracer('bench'), flush: () => provider.forceFlush() };
    // Prove both export before anything is timed.
    await this.round('wasmtrace', 1);
    await this.round('otel', 1);
    await this.round('defaults', 1);
    if (!(bytes.wasmtrace > 0 && bytes.otel > 0 && bytes.defaults > 0)) throw new Error(`nothing exported: ${JSON.stringify(bytes)}`);
    return navigator.userAgent;
  },
  /** `batches` × 512 spans, flushed after each batch; ns per span. */
  async round(sdk, batches) {
    const s = sdk === 'wasmtrace' ? ours : sdk === 'defaults' ? defaults : otel;
    const t0 = realNow();
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) oneSpan(s.tracer);
      await s.flush();
    }
    return ((realNow() - t0) * 1e6) / (batches * BATCH);
  },
  /** Both SDKs read performance.now()/Date.now(); replace them with a counter, or restore. */
  fakeClock(on) {
    if (on) {
      const base = realDateNow();
      let t = realNow();
      performance.now = () => (t += 0.001);
      Date.now = () => base + Math.floor(t);
    } else {
      delete performance.now;
      Date.now = realDateNow;
    }
  },
  /** Two clock reads, the floor of a span's cost in a browser; ns. Read as both SDKs do: through a kept reference to `performance`. */
  clock(n) {
    const perf = performance;
    let sink = 0;
    const t0 = realNow();
    for (let i = 0; i < n; i++) sink += perf.now() + perf.now();
    return ((realNow() - t0) * 1e6) / n + (sink < 0 ? 1 : 0);
  },
};
