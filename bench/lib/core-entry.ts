// Fallback for benchmarks while init() cannot build: the real Wasm core and
// Tracer with delivery reduced to "drain every ended span, hand each body to
// the transport" (what the pipeline does on flush, minus retries and storage).
import { createCore } from '../../src/core.js';
import { createTracer, type Tracer } from '../../src/tracer.js';
import { instantiate } from '../../src/wasm.js';
import { resourceAttributes } from '../../src/resource.js';
import { setAttr } from '../../src/attributes.js';
import { setClock, timeOrigin } from '../../src/clock.js';

export { setClock };

export async function coreInit(opts: {
  wasm: Uint8Array;
  json?: boolean;
  serviceName: string;
  maxExportBatchSize?: number;
  transport: (body: Uint8Array) => Promise<unknown>;
}): Promise<Tracer> {
  const x = await instantiate(opts.wasm);
  const core = createCore(x, opts.json ? 'application/json' : 'application/x-protobuf', 4096);
  crypto.getRandomValues(core.u8.subarray(core.io, core.io + 32));
  x.seed();
  x.configure(timeOrigin(), 1, 128, 128, 128, 128);
  for (const [k, v] of Object.entries(resourceAttributes({ serviceName: opts.serviceName }, {}, 'nodejs'))) setAttr(core, 0, k, v, 0);
  const batch = opts.maxExportBatchSize ?? 512;
  let ended = 0;
  const flush = async () => {
    let sent = 0;
    for (let b = core.source.drain(128 * 1024); b; b = core.source.drain(128 * 1024)) {
      await opts.transport(b.body);
      sent += b.spans;
    }
    ended = 0;
    return { sent, queued: 0, dropped: 0 };
  };
  return createTracer(core, {
    spanEnded: () => {
      if (++ended >= batch) void flush();
    },
    flush,
    shutdown: flush,
  });
}
