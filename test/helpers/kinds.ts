// Generated span kinds, as JavaScript source (so a page can be given them too),
// each with the OTLP kind it must be exported as: SpanKind + 1 for an integer
// number 0..4 as given, INTERNAL (1) for anything else. Many of the invalid
// ones convert to a valid i32 (2**32 + 4, 3.5, '2', true, an object's valueOf):
// a kind checked only after that conversion comes out as the wrong kind.

export interface KindCase {
  /** A JavaScript expression. */
  src: string;
  /** OTLP Span.kind. */
  otlp: number;
}

/** `n` seeded cases: every valid kind, and generated invalid ones of each sort. */
export function kindCases(seed: number, n: number): KindCase[] {
  let s = seed >>> 0;
  const r = (): number => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const k = (): number => int(0, 4);
  const invalid: Array<() => string> = [
    () => `2 ** 32 + ${k()}`,
    () => `${int(1, 2 ** 20)} * 2 ** 32 + ${k()}`,
    () => `-(2 ** 32) + ${k()}`,
    () => `2 ** 31 + ${k()}`,
    () => `${k()} + ${(r() * 0.998 + 0.001).toFixed(3)}`,
    () => `${k()} - 1e-9`,
    () => String(int(5, 1e6)),
    () => String(-int(1, 1e6)),
    () => `2 ** ${int(53, 1000)}`,
    () => ['NaN', 'Infinity', '-Infinity', 'Number.MIN_VALUE', 'Number.EPSILON'][int(0, 4)]!,
    () => JSON.stringify(String(k())),
    () => JSON.stringify([` ${k()}`, `${k()}.0`, `0x${k()}`][int(0, 2)]),
    () => ['true', 'false', 'null', '[]', '{}'][int(0, 4)]!,
    () => `{ valueOf() { return ${k()}; } }`,
    () => `{ valueOf() { throw new Error('kind'); } }`,
    () => `[${k()}]`,
    () => `new Number(${k()})`,
    () => `new Date(${k()})`,
    () => `${k()}n`,
    () => 'Symbol()',
  ];
  const cases: KindCase[] = [0, 1, 2, 3, 4].map((v) => ({ src: String(v), otlp: v + 1 }));
  cases.push({ src: '-0', otlp: 1 }, { src: 'undefined', otlp: 1 });
  while (cases.length < n) cases.push({ src: invalid[int(0, invalid.length - 1)]!(), otlp: 1 });
  return cases;
}
