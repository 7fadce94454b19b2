// Delivery: bytes per span on the wire (protobuf, JSON, gzip) next to the
// OpenTelemetry JS exporter's default OTLP/JSON, the localStorage cost of a
// queued body (wasmtrace's 15-bit packing against base64), and the time of a
// flush of 512 spans (encode + compress + hand to the transport) against the
// OTel SDK's forceFlush with the same serializer work. The same 512 spans on
// both sides: name 'op', three attributes, service.name 'bench'.
import { figure, single } from './lib/figure.mjs';
import { interleave, nsSince } from './lib/interleave.mjs';
import { otelTracer, OTEL_NAME } from './lib/otel.mjs';
import { dist, root } from './lib/paths.mjs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { BATCH, oneSpan } from './lib/workload.mjs';

/** wasmtrace through its public init(), sending into `sink(body, meta)`. */
async function ours(init, { json = false, gzip = false, sink }) {
  return init({
    serviceName: 'bench',
    protocol: json ? 'http/json' : 'http/protobuf',
    compression: gzip ? 'gzip' : 'none',
    storage: null,
    maxExportBatchSize: 100_000, // the bench flushes by hand
    scheduledDelayMs: 3_600_000,
    transport: async (body, meta) => (sink(body, meta), { status: 200 }),
  });
}

/** Bytes per span of one flush of 512 spans. */
async function oursBytes(init, opts) {
  let bytes = 0;
  let encoding;
  const t = await ours(init, { ...opts, sink: (b, meta) => ((bytes += b.length), (encoding = meta.contentEncoding)) });
  for (let i = 0; i < BATCH; i++) oneSpan(t);
  const r = await t.flush();
  if (r.sent !== BATCH) throw new Error(`sent ${r.sent} of ${BATCH}`);
  if (opts.gzip && encoding !== 'gzip') throw new Error('gzip was not applied');
  await t.shutdown();
  return bytes / BATCH;
}

async function otelBytes(json) {
  let bytes = 0;
  const { tracer, provider } = otelTracer({ json, maxExportBatchSize: BATCH, sink: (b) => (bytes += b.length) });
  for (let i = 0; i < BATCH; i++) oneSpan(tracer);
  await provider.forceFlush();
  await provider.shutdown();
  return bytes / BATCH;
}

/** UTF-16 code units per body byte in localStorage: packed and base64. */
async function storageUnits() {
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('src/export/codec.ts', root))], bundle: true, format: 'esm', write: false, logLevel: 'error',
  });
  const { pack } = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
  const body = new Uint8Array(60 * 1024);
  for (let i = 0; i < body.length; i += 65536) crypto.getRandomValues(body.subarray(i, i + 65536));
  return { packed: pack(body).length / body.length, base64: Buffer.from(body).toString('base64').length / body.length };
}

export async function run({ smoke = false } = {}) {
  const { init } = await import(new URL('node.js', dist).href);
  const otelJson = await otelBytes(true);
  const otelProto = await otelBytes(false);
  const rivalJson = `${OTEL_NAME}, OTLP/JSON (the OTel JS exporter's default)`;
  const figures = [
    single({ name: 'wire bytes per span, protobuf', unit: 'B/span', wasmtrace: await oursBytes(init, {}), rival: otelJson, rivalName: rivalJson }),
    single({ name: 'wire bytes per span, protobuf + gzip', unit: 'B/span', wasmtrace: await oursBytes(init, { gzip: true }), rival: otelJson, rivalName: rivalJson }),
    single({ name: 'wire bytes per span, JSON', unit: 'B/span', wasmtrace: await oursBytes(init, { json: true }), rival: otelJson, rivalName: rivalJson }),
    single({ name: 'wire bytes per span, JSON + gzip', unit: 'B/span', wasmtrace: await oursBytes(init, { json: true, gzip: true }), rival: otelJson, rivalName: rivalJson }),
    single({ name: 'wire bytes per span, protobuf vs OTel protobuf', unit: 'B/span', wasmtrace: await oursBytes(init, {}), rival: otelProto, rivalName: `${OTEL_NAME}, protobuf` }),
  ];
  const units = await storageUnits();
  figures.push(single({
    name: 'localStorage units per queued body byte', unit: 'UTF-16 units/B', wasmtrace: units.packed, rival: units.base64,
    rivalName: 'base64', note: '15 bits per code unit in U+0800..U+87FF (no surrogates); the quota counts code units',
  }));

  // Time of one flush of 512 ended spans, interleaved with the OTel SDK's.
  const rounds = smoke ? 2 : 25;
  const warmup = smoke ? 0 : 3;
  for (const [label, json, gzip] of [['protobuf', false, false], ['JSON', true, false], ['protobuf + gzip', false, true]]) {
    const t = await ours(init, { json, gzip, sink: () => {} });
    // A batch size above 512, so the export runs inside forceFlush, not at the 512th end().
    const o = otelTracer({ json, maxExportBatchSize: 2 * BATCH, maxQueueSize: 4 * BATCH, sink: () => {} });
    const samples = await interleave(
      {
        async ours() {
          for (let i = 0; i < BATCH; i++) oneSpan(t);
          const t0 = process.hrtime.bigint();
          await t.flush();
          return nsSince(t0) / 1000;
        },
        async theirs() {
          for (let i = 0; i < BATCH; i++) oneSpan(o.tracer);
          const t0 = process.hrtime.bigint();
          await o.provider.forceFlush();
          return nsSince(t0) / 1000;
        },
      },
      { rounds, warmup },
    );
    figures.push(figure({
      name: `flush of 512 spans, ${label}`, unit: 'µs/flush', ours: samples.ours, theirs: samples.theirs,
      rivalName: `${OTEL_NAME}, ${json ? 'JSON' : 'protobuf'} serialization${gzip ? ' (no gzip)' : ''}`,
      note: 'encode in Wasm + copy out + (gzip) + transport call, against BatchSpanProcessor.forceFlush + serializer',
    }));
    await t.shutdown();
    await o.provider.shutdown();
  }
  return { figures };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { figures } = await run({ smoke: process.argv.includes('--smoke') });
  for (const f of figures) {
    const rival = f.rival === undefined ? '' : `  vs ${f.rival.toFixed(2)} (${f.ratio.toFixed(2)}x) ${f.rivalName}`;
    process.stdout.write(`${f.name}: ${f.wasmtrace.toFixed(2)} ${f.unit}${rival}\n`);
  }
}
