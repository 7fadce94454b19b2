// Types of synthetic.mjs (test and benchmark traces).
export function prng(seed: number): () => number;
export function makeTraceRequest(o?: {
  spanCount?: number; seed?: number; services?: string[];
  /** Unix epoch milliseconds of the root's start. */
  startMs?: number;
  durationMs?: number; attributesPerSpan?: number;
}): { traceId: string; request: any; spanCount: number };
export function splitRequest(request: any, size: number): any[];
export function toProtobuf(request: any): Uint8Array;
