// Generated export-header sets over the three sources an export's headers
// come from — OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TRACES_HEADERS
// and the code's `headers` — with the same names in mixed letter case, and
// the headers a collector should receive: one per name, whatever its case,
// the value of the last source that sets it (code over TRACES_ over the
// general variable; within one source the later entry).

/** Names a collector checks (Authorization, tenant headers) and made-up ones. */
const NAMES = ['authorization', 'x-api-key', 'x-scope-orgid', 'dd-api-key', 'x-honeycomb-team', 'signoz-access-token'];

export interface HeaderSet {
  /** The variables, percent-encoded as they are written. */
  env: Record<string, string>;
  /** The code's `headers` option. */
  code: Record<string, string>;
  /** Lower-cased name → the value the collector should get. */
  want: Record<string, string>;
}

export function headerSet(i: number, r: () => number): HeaderSet {
  const anyCase = (s: string): string => [...s].map((ch) => (r() < 0.5 ? ch.toUpperCase() : ch)).join('');
  const sources: Array<Array<[string, string]>> = [[], [], []];
  const want: Record<string, string> = {};
  const names = NAMES.filter(() => r() < 0.5);
  for (let j = 0, n = 1 + Math.floor(r() * 3); j < n; j++) names.push(`x-h${i}-${j}`);
  for (const name of names) {
    // In one to three of the sources, once or twice each, every time in a case of its own.
    const where = [0, 1, 2].filter(() => r() < 0.6);
    if (!where.length) where.push(Math.floor(r() * 3));
    for (const s of where)
      for (let k = 0, times = r() < 0.2 ? 2 : 1; k < times; k++) {
        const value = `${['g', 't', 'c'][s]}${i}-${k}-${Math.floor(r() * 1e6)}`;
        sources[s]!.push([anyCase(name), value]);
        want[name] = value; // sources are visited in the order they win
      }
  }
  const percent = (kv: Array<[string, string]>): string => kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join(',');
  const env: Record<string, string> = {};
  if (sources[0]!.length) env.OTEL_EXPORTER_OTLP_HEADERS = percent(sources[0]!);
  if (sources[1]!.length) env.OTEL_EXPORTER_OTLP_TRACES_HEADERS = percent(sources[1]!);
  // A name given twice in one case keeps the later value (an object holds it once).
  return { env, code: Object.fromEntries(sources[2]!), want };
}
