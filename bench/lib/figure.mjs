// The shape every benchmark module returns, and helpers to build it.
//
// A bench module is `bench/<name>.mjs` exporting `async function run({ smoke })`
// that resolves to `Figure[]` (or `{ figures: Figure[] }`). One figure:
//
//   {
//     name: 'per span, Node, real clock',   // unique within the module
//     unit: 'ns/span',                       // unit of wasmtrace and rival
//     wasmtrace: 95.1,                       // median over rounds, finite, > 0
//     rival: 3400,                           // same measure for the rival (optional)
//     rivalName: 'OTel JS sdk-trace-base 1.25.1 + BatchSpanProcessor + protobuf',
//     ratio: 35.7,                           // how many times better wasmtrace is (optional):
//                                            //   rival / wasmtrace when lower is better,
//                                            //   wasmtrace / rival when higher is better
//     better: 'lower',                       // 'lower' (default) or 'higher'
//     spread: { wasmtrace: 3.2, rival: 5.0, ratio: 4.1 },  // (max - min) / median, %
//     rounds: 15,                            // samples per side
//     note: 'how it was measured',           // optional, one line
//   }
//
// `figure()` below fills ratio and spread from raw per-round samples; use it.

/** Median of a list of numbers (the mean of the two middle values when even). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Spread of samples: (max - min) / median, in percent. */
export function spread(xs) {
  if (xs.length < 2) return 0;
  const m = median(xs);
  return m === 0 ? 0 : ((Math.max(...xs) - Math.min(...xs)) / Math.abs(m)) * 100;
}

/**
 * A figure from per-round samples. `ours` and `theirs` are paired: round i of
 * each ran next to the other, so the ratio is the median of per-round ratios
 * (drift on a shared machine cancels within a pair).
 */
export function figure({ name, unit, ours, theirs, rivalName, better = 'lower', note }) {
  const f = { name, unit, wasmtrace: median(ours), better, rounds: ours.length, spread: { wasmtrace: spread(ours) } };
  if (theirs && theirs.length) {
    f.rival = median(theirs);
    f.rivalName = rivalName;
    const ratios = ours.map((o, i) => (better === 'lower' ? theirs[i] / o : o / theirs[i])).filter(Number.isFinite);
    f.ratio = median(ratios);
    f.spread.rival = spread(theirs);
    f.spread.ratio = spread(ratios);
  }
  if (note) f.note = note;
  return f;
}

/** A figure from single values (sizes, byte counts): no spread. */
export function single({ name, unit, wasmtrace, rival, rivalName, better = 'lower', note }) {
  const f = { name, unit, wasmtrace, better };
  if (rival !== undefined && rival !== null) {
    f.rival = rival;
    f.rivalName = rivalName;
    f.ratio = better === 'lower' ? rival / wasmtrace : wasmtrace / rival;
  }
  if (note) f.note = note;
  return f;
}

/** Throws unless `f` is a well-formed figure (used by the runner and the smoke test). */
export function checkFigure(f) {
  const bad = (why) => {
    throw new Error(`bad figure ${JSON.stringify(f?.name)}: ${why}`);
  };
  if (!f || typeof f !== 'object') bad('not an object');
  if (typeof f.name !== 'string' || !f.name) bad('name');
  if (typeof f.unit !== 'string' || !f.unit) bad('unit');
  const pos = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!pos(f.wasmtrace)) bad(`wasmtrace = ${f.wasmtrace}`);
  if (f.rival !== undefined && !pos(f.rival)) bad(`rival = ${f.rival}`);
  if (f.ratio !== undefined && !pos(f.ratio)) bad(`ratio = ${f.ratio}`);
  if (f.rival !== undefined && (typeof f.rivalName !== 'string' || !f.rivalName)) bad('rivalName');
  return f;
}
