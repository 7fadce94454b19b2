// Interleaved rounds: each round runs every case once, alternating the order
// (A B, B A, ...), so slow drift on a shared machine hits every case alike.
// Each case is `() => number | Promise<number>` returning one sample.

/**
 * Runs `warmup` unrecorded rounds then `rounds` recorded ones; returns
 * `{ [case]: number[] }` with samples in round order (paired across cases).
 */
export async function interleave(cases, { rounds, warmup = 1 }) {
  const names = Object.keys(cases);
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -warmup; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const v = await cases[n]();
      if (r >= 0) out[n].push(v);
    }
  }
  return out;
}

/** Nanoseconds elapsed since `t0` (a `process.hrtime.bigint()` or `performance.now()` reading). */
export function nsSince(t0) {
  return typeof t0 === 'bigint' ? Number(process.hrtime.bigint() - t0) : (performance.now() - t0) * 1e6;
}
