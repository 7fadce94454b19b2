// wasmtrace as the benchmarks use it in Node: the public init() from
// dist/node.js, exporting through a transport that the bench provides.
import { dist } from './paths.mjs';

/**
 * A tracer that exports through `transport(body)` with batches of
 * `maxExportBatchSize`; returns `{ tracer, setClock, via }`.
 */
export async function ourTracer({ transport, json = false, maxExportBatchSize = 512, serviceName = 'bench', sampler }) {
  const send = async (body) => (await transport(body), { status: 200 });
  const mod = await import(new URL('node.js', dist).href);
  const tracer = await mod.init({
    serviceName, transport: send, storage: null, compression: 'none', maxExportBatchSize,
    scheduledDelayMs: 3_600_000, protocol: json ? 'http/json' : 'http/protobuf', sampler,
  });
  return { tracer, setClock: mod.setClock, via: 'init() from dist/node.js' };
}
