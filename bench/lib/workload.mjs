// The per-span workload every benchmark uses, the same for both SDKs: one
// span the way an app makes it — start, three attributes (string, int, bool), end.
import { nsSince } from './interleave.mjs';
export const BATCH = 512;

export function oneSpan(tracer) {
  const s = tracer.startSpan('op');
  s.setAttribute('http.method', 'GET');
  s.setAttribute('http.status_code', 200);
  s.setAttribute('cache.hit', true);
  s.end();
}

/** Makes `batches` × BATCH spans, flushing after each batch; returns ns per span. */
export async function spanRound(tracer, flush, batches) {
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < BATCH; i++) oneSpan(tracer);
    await flush();
  }
  return nsSince(t0) / (batches * BATCH);
}
