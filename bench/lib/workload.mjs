// The per-span workload every benchmark uses, the same for both SDKs: one
// span the way an app makes it — start, three attributes (string, int, bool), end.
export const BATCH = 512;

export function oneSpan(tracer) {
  const s = tracer.startSpan('op');
  s.setAttribute('http.method', 'GET');
  s.setAttribute('http.status_code', 200);
  s.setAttribute('cache.hit', true);
  s.end();
}
