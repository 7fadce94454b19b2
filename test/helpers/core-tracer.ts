// A tracer over the real Wasm module with delivery replaced by a drain into
// memory, for testing the hot path and the encoders on their own.
import { readFileSync } from 'node:fs';
import { createCore, type Core } from '../../src/core.js';
import { createTracer, type Tracer } from '../../src/tracer.js';
import { instantiate } from '../../src/wasm.js';
import { resourceAttributes } from '../../src/resource.js';
import { setAttr } from '../../src/attributes.js';
import { timeOrigin } from '../../src/clock.js';
import { rootTraceState } from '../../src/sampler.js';
import type { ExportResult } from '../../src/export/types.js';

const dist = new URL('../../dist/', import.meta.url);
export const protoWasm = readFileSync(new URL('wasmtrace.wasm', dist));
export const jsonWasm = readFileSync(new URL('wasmtrace-json.wasm', dist));

export interface CoreTracer {
  tracer: Tracer;
  core: Core;
  /** Encodes every ended span into bodies of at most `maxBytes`. */
  drain(maxBytes?: number): Uint8Array[];
  ended(): number;
}

/** The 32 bytes of entropy `coreTracer({ seed })` gives the module: a WASI run given them makes the same ids. */
export function seedBytes(seed: number): Uint8Array {
  const bytes = new Uint8Array(32);
  let s = seed;
  for (let i = 0; i < 32; i++) bytes[i] = s = (s * 1103515245 + 12345) & 0xff;
  return bytes;
}

export async function coreTracer(opts: { json?: boolean; seed?: number; ratio?: number; limits?: number[]; valueLimit?: number; serviceName?: string; sampler?: { keepErrors?: boolean; slowMs?: number; maxHoldMs?: number } } = {}): Promise<CoreTracer> {
  const x = await instantiate(opts.json ? jsonWasm : protoWasm);
  const core = createCore(x, opts.json ? 'application/json' : 'application/x-protobuf', opts.valueLimit ?? 4096);
  core.u8.set(seedBytes(opts.seed ?? 1), core.io);
  x.seed();
  const [a = 128, e = 128, l = 128, n = 128] = opts.limits ?? [];
  x.configure(timeOrigin(), opts.ratio ?? 1, a, e, l, n);
  const sm = opts.sampler ?? {};
  x.sampling(sm.keepErrors === false ? 0 : 1, sm.slowMs ?? 0, sm.maxHoldMs ?? 30_000);
  for (const [k, v] of Object.entries(resourceAttributes({ serviceName: opts.serviceName ?? 'test-service' }, {}, 'nodejs'))) setAttr(core, 0, k, v, 0);
  let endedCount = 0;
  const empty: ExportResult = { sent: 0, queued: 0, dropped: 0 };
  const ratio = opts.ratio ?? 1;
  const tracer = createTracer(core, {
    spanEnded: () => void endedCount++,
    flush: async () => empty,
    shutdown: async () => empty,
  }, { rootTraceState: rootTraceState(ratio) });
  return {
    tracer,
    core,
    ended: () => endedCount,
    drain(maxBytes = 128 * 1024) {
      const bodies: Uint8Array[] = [];
      for (let b = core.source.drain(maxBytes); b; b = core.source.drain(maxBytes)) bodies.push(b.body);
      return bodies;
    },
  };
}
