// An incoming OpenTelemetry threshold (`ot=th:` in tracestate) is passed on
// only when "TraceState: Probability Sampling" allows it: well formed (1-14
// hex digits), agreeing with the sampled flag (sampled exactly when the
// randomness, `rv` or the trace id's last 56 bits, is >= the threshold), and
// never on a span whose probability is unknown (kept by tail sampling alone).
// 2,000 generated contexts against a model computed here with BigInt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer } from '../helpers/core-tracer.js';
import { allSpans, decodeProtobuf } from '../helpers/otlp.js';
import { SpanStatusCode } from '../../src/types.js';
import { prng } from '../../demo/collector/synthetic.mjs';

test('incoming thresholds: malformed, inconsistent or of unknown probability are erased; the rest pass on unchanged (2,000 cases)', async () => {
  const r = prng(0x7e5);
  const t = await coreTracer({ ratio: 0.5, seed: 9, sampler: { keepErrors: true } });
  const hex = (n: number, lower = true): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
    return lower ? s : s.toUpperCase();
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const seen = { kept: 0, malformed: 0, inconsistent: 0, unknown: 0 };
  for (let i = 0; i < 2000; i++) {
    const traceId = hex(16) + hex(16);
    const sampled = r() < 0.5;
    // A threshold: mostly well formed (a few upper case), or malformed.
    const wellFormed = r() < 0.8;
    const th = wellFormed ? hex(1 + Math.floor(r() * 14), r() < 0.9) : pick(['', 'xyz', hex(15), `${hex(3)}g`, '-1']);
    // Randomness: the trace id's, an explicit rv, or a malformed rv.
    const rvKind = pick(['none', 'none', 'valid', 'bad'] as const);
    const rv = rvKind === 'valid' ? hex(14) : rvKind === 'bad' ? pick([hex(13), hex(14, false).replace(/^./, 'A'), 'zz']) : undefined;
    const subs = [`th:${th}`, ...(rv !== undefined ? [`rv:${rv}`] : []), ...(r() < 0.3 ? ['p:8'] : [])].sort(() => r() - 0.5);
    const others = r() < 0.5 ? ['vendor=v1'] : [];
    const tracestate = [...others, `ot=${subs.join(';')}`, ...(r() < 0.3 ? ['z@t=1'] : [])].join(',');
    // The model.
    const usable = wellFormed && (rv === undefined || /^[0-9a-f]{14}$/.test(rv));
    const consistent = usable && (BigInt(`0x${rv ?? traceId.slice(18)}`) >= BigInt(`0x${th.padEnd(14, '0')}`)) === sampled;
    const rest = subs.filter((s) => !s.startsWith('th:'));
    const erased = tracestate.split(',').flatMap((m) => (m.startsWith('ot=') ? (rest.length ? [`ot=${rest.join(';')}`] : []) : [m])).join(',');
    const passed = consistent ? tracestate : erased;
    seen[!wellFormed ? 'malformed' : !consistent ? 'inconsistent' : 'kept']++;

    const parent = t.tracer.extract({ traceparent: `00-${traceId}-${hex(16)}-0${sampled ? 1 : 0}`, tracestate });
    assert.ok(parent);
    assert.equal(parent.traceState ?? '', passed, `extracted ${tracestate} (sampled ${sampled})`);
    const span = t.tracer.startSpan('server', { kind: 1 }, parent);
    const out: Record<string, string> = {};
    t.tracer.inject(out, span);
    assert.equal(out.tracestate ?? '', passed, `sent on: ${tracestate} (sampled ${sampled})`);
    span.setStatus({ code: SpanStatusCode.ERROR }); // kept whatever the flag: an unsampled one by tail sampling alone
    span.end();
    const [got] = t.drain().flatMap((b) => allSpans(decodeProtobuf(b)));
    // Kept by tail sampling alone (sampled=0): its probability is unknown, so it carries no threshold.
    if (!sampled && consistent) seen.unknown++;
    assert.equal(got?.traceState ?? '', sampled ? passed : erased, `exported: ${tracestate} (sampled ${sampled})`);
  }
  for (const [k, n] of Object.entries(seen)) assert.ok(n > 100, `${k}: ${n} cases`);
});

test('incoming thresholds at the boundary: randomness equal to the threshold samples, one below does not (explicit rv and trace id)', async () => {
  const r = prng(0xb0d);
  const t = await coreTracer({ ratio: 0.5, seed: 10 });
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
  const seen = { equal: 0, below: 0, above: 0 };
  for (let i = 0; i < 1500; i++) {
    const th = hex(1 + Math.floor(r() * 14));
    const delta = [0n, -1n, 1n][i % 3]!;
    const value = BigInt(`0x${th.padEnd(14, '0')}`) + delta;
    if (value < 0n || value >= 1n << 56n) continue;
    const rv = value.toString(16).padStart(14, '0');
    const sampled = r() < 0.5;
    const explicit = r() < 0.5;
    const traceId = hex(18) + (explicit ? hex(14) : rv);
    const tracestate = explicit ? `ot=th:${th};rv:${rv}` : `ot=th:${th}`;
    // Sampled exactly when randomness >= threshold; a flag that disagrees erases the threshold.
    const consistent = (value >= BigInt(`0x${th.padEnd(14, '0')}`)) === sampled;
    seen[delta === 0n ? 'equal' : delta < 0n ? 'below' : 'above']++;
    const parent = t.tracer.extract({ traceparent: `00-${traceId}-${hex(16)}-0${sampled ? 1 : 0}`, tracestate });
    const want = consistent ? tracestate : explicit ? `ot=rv:${rv}` : undefined;
    assert.equal(parent?.traceState, want, `${tracestate} on ${traceId} (sampled ${sampled})`);
  }
  for (const [k, n] of Object.entries(seen)) assert.ok(n > 400, `${k}: ${n} cases`);
});
