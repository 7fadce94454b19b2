// Sampler settings shared by every entry (browser, Node, Workers): the
// trace-id ratio, and tail sampling of errors and slow traces in Wasm.
import type { WasmExports } from './wasm.js';
import { clampInt, fallback } from './diag.js';

export interface SamplerOptions {
  /** Share of traces kept, 0..1 (decided from the trace id); default 1. */
  ratio?: number;
  /** Keep every trace with an error (tail sampling); default true. */
  keepErrors?: boolean;
  /** Keep every trace whose local root lasts longer, ms. */
  slowMs?: number;
  /** Longest time spans wait for their trace's decision, ms; default 30000. */
  maxHoldMs?: number;
}

const isRatio = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;

/**
 * The ratio from the option, else OTEL_TRACES_SAMPLER_ARG (the text
 * `envSamplerRatio` gives), else 1. A bad value warns once, naming the
 * option or the variable and the value as given.
 */
export function samplerRatio(ratio: unknown, envArg: string | undefined): number {
  if (ratio != null) return isRatio(ratio) ? ratio : fallback('sampler.ratio', ratio, 1);
  if (envArg === undefined) return 1;
  const n = Number(envArg);
  return isRatio(n) ? n : fallback('OTEL_TRACES_SAMPLER_ARG', envArg, 1);
}

/**
 * The OpenTelemetry probability-sampling threshold for a ratio: 56 bits as
 * hex, trailing zeros removed (OTEP 235; the same rounding as the Wasm side).
 */
export function thresholdHex(ratio: number): string {
  const t = Math.max(0, Math.round((1 - ratio) * 2 ** 56));
  return (t >= 2 ** 56 ? 'ffffffffffffff' : t.toString(16).padStart(14, '0')).replace(/0+$/, '') || '0';
}

/** Tracestate for new traces the ratio keeps, so backends can re-weight counts. */
export function rootTraceState(ratio: number): string | undefined {
  return ratio < 1 ? `ot=th:${thresholdHex(ratio)}` : undefined;
}

/** Configures tail sampling in Wasm (after `configure` has set the ratio); bad values are clamped with one warning. */
export function configureTail(x: WasmExports, s: SamplerOptions | undefined): void {
  x.sampling(s?.keepErrors === false ? 0 : 1, clampInt(s?.slowMs, 0, 3_600_000, 0, 'sampler.slowMs'), clampInt(s?.maxHoldMs, 1, 3_600_000, 30_000, 'sampler.maxHoldMs'));
}

/** An OpenTelemetry threshold: 1 to 14 hex digits (tracestate handling, `th`). */
const TH = /^[\da-f]{1,14}$/i;
/** An explicit randomness value: exactly 14 lowercase hex digits (`rv`). */
const RV = /^[\da-f]{14}$/;

/**
 * `ts` (a valid tracestate) with its threshold (`ot=…th:…`) erased where
 * "TraceState: Probability Sampling" says a parent-based sampler must or
 * should: when it is malformed, when it disagrees with the sampled flag
 * (sampled exactly when randomness >= threshold; the randomness is `rv`, else
 * the trace id's last 56 bits), or when the span's probability is unknown
 * (`sampled` undefined: a span kept by tail sampling alone).
 */
export function checkThreshold(ts: string, traceId: string, sampled?: boolean): string {
  if (!ts.includes('th:')) return ts;
  const members = ts.split(',');
  const at = members.findIndex((m) => m.startsWith('ot='));
  const ot = at < 0 ? [] : members[at]!.slice(3).split(';');
  const th = ot.find((v) => v.startsWith('th:'))?.slice(3);
  if (th === undefined) return ts;
  const rv = ot.find((v) => v.startsWith('rv:'))?.slice(3) ?? traceId.slice(18);
  if (sampled !== undefined && TH.test(th) && RV.test(rv) && rv >= th.toLowerCase().padEnd(14, '0') === sampled) return ts;
  const rest = ot.filter((v) => !v.startsWith('th:')).join(';');
  if (rest) members[at] = `ot=${rest}`;
  else members.splice(at, 1);
  return members.join();
}
