// Delivery for Workers: what an invocation ended is encoded and posted after
// it finishes, inside ctx.waitUntil, so no response waits for it. One
// isolate serves many invocations at once, and a request to the collector
// costs far more CPU than the spans it carries (docs/worker.md, "Export"):
// so an invocation that ends waits `delayMs` for others to end too, and the
// spans of all of them leave in one export. An invocation that ends while
// such an export is scheduled adds its spans to it and waits for nothing.
// There is no storage and no timer outside an invocation's waitUntil: a
// batch the collector could not take (network error, 429, 502-504) is kept
// in memory, bounded, and retried by the first export after its backoff
// (exponential with jitter, or the collector's Retry-After, as OTLP asks):
// exports before then keep their batches too, sending nothing.
import type { Delivery } from '../src/tracer.js';
import type { DeliveryStats, Encoded, ExportResult, SpanSource, Transport, TransportResponse } from '../src/export/types.js';
import { now } from '../src/clock.js';
import { backoffMs, misdirected, retryAfterMs } from '../src/export/retry.js';
import { gzip } from '../src/export/gzip.js';
import { readBody } from '../src/export/send.js';

/** Largest body cut from the span buffer, bytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** Bytes of failed batches kept for the next flush. */
const MAX_BACKLOG_BYTES = 256 * 1024;
/** How late a scheduled export may be before it is taken for lost, ms. */
const STALE_AFTER_MS = 1000;
/** Spans waiting at which an invocation's end exports at once instead of waiting for others. */
const EXPORT_NOW_SPANS = 512;
/** Ended spans held in Wasm before they are cut to memory (a burst within one invocation): half its 2,048-slot pool. */
const BURST_SPANS = 1024;
/** Bytes of spans cut by bursts, kept for the invocation's export; beyond it the oldest go, counted. */
const MAX_CUT_BYTES = 1024 * 1024;
/** Backoff after consecutive failed exports, ms: from the first to the longest (also the longest Retry-After honoured). */
const RETRY_INITIAL_MS = 1000;
const RETRY_MAX_MS = 60_000;

export interface WorkerDelivery extends Delivery {
  /**
   * At the end of an invocation (its own waitUntil work settled): the export
   * that will carry its spans, for the invocation's `waitUntil`; undefined
   * when an export another invocation scheduled will take them.
   */
  ended(): Promise<ExportResult> | undefined;
}

export function createDelivery(source: SpanSource, send: Transport, delayMs: number, maxSpans: number, gzipped = false): WorkerDelivery {
  /** What was lost after it left Wasm, in spans (tracer.stats()). */
  const counts = { droppedRejected: 0, droppedQueueFull: 0, droppedUnsent: 0 };
  let backlog: Encoded[] = [];
  let backlogBytes = 0;
  /**
   * While an export is scheduled and has not yet taken the spans: the time
   * by which it must have. Past it (its invocation was cancelled before the
   * timer fired), the next invocation schedules its own.
   */
  let dueBy = 0;
  /** Bodies cut by a burst of ended spans, their bytes, and spans dropped to keep them bounded. */
  let cut: Encoded[] = [];
  let cutBytes = 0;
  let cutDropped = 0;
  let ended = 0;
  /** Exports in a row that had a batch to retry, and the time before which none is sent. */
  let failures = 0;
  let retryAt = 0;

  /** Moves every ended span out of Wasm into `into`. */
  function take(into: Encoded[]): void {
    for (let guard = source.pending(), e; guard-- >= 0 && source.pending() > 0 && (e = source.drain(MAX_BODY_BYTES, maxSpans)); ) {
      into.push(e);
      cutBytes += e.body.length;
    }
  }

  function spanEnded(): void {
    if (++ended < BURST_SPANS) return;
    ended = 0;
    take(cut);
    while (cutBytes > MAX_CUT_BYTES && cut.length > 1) {
      const old = cut.shift()!;
      cutBytes -= old.body.length;
      cutDropped += old.spans;
      counts.droppedQueueFull += old.spans;
    }
  }

  async function flush(): Promise<ExportResult> {
    // Taken synchronously: concurrent invocations never send a batch twice.
    const batches = backlog.concat(cut);
    const r = { sent: 0, queued: 0, dropped: cutDropped };
    backlog = [];
    backlogBytes = 0;
    cut = [];
    cutDropped = 0;
    take(batches);
    cutBytes = ended = 0;
    // Backing off (the collector failed, or asked for a pause): nothing is sent, every batch is kept.
    const paused = now() < retryAt;
    /** The longest Retry-After of a retried answer, ms; -1: none retried. */
    let wait = -1;
    await Promise.all(
      batches.map(async (b) => {
        let res: TransportResponse | undefined;
        try {
          if (!paused) {
            const meta = { contentType: source.contentType, spans: b.spans };
            // gzip (workerd has CompressionStream; were it to fail, the body goes as it is), told to the transport as pages tell it.
            const packed = gzipped ? await gzip(b.body) : null;
            res = await send(packed ?? b.body, packed ? { ...meta, contentEncoding: 'gzip' } : meta);
            // 415 to a gzip body: the collector (or a proxy before it) takes no gzip. The
            // same batch goes again at once uncompressed, and nothing more is compressed.
            if (packed && res.status === 415) {
              gzipped = false;
              res = undefined; // should this send fail, that is a network error, not the 415
              res = await send(b.body, meta);
            }
          }
        } catch {
          // network error, timeout: retryable (status 0)
        }
        // A 2xx after a redirect that is no OTLP answer (a 302 to a page's GET) took no span: refused, as the 3xx.
        const status = res ? (misdirected(res) ? 300 : res.status) : 0;
        // A partial success counts as sent: reading it costs the bundle more than it tells (docs/worker.md).
        if (status >= 200 && status < 300) r.sent += b.spans;
        else if (status === 0 || status === 429 || (status >= 502 && status <= 504)) {
          wait = Math.max(wait, retryAfterMs(res?.headers?.get('retry-after'), Date.now()) ?? 0);
          // Kept for a later flush; oldest first out when the bound is reached.
          backlog.push(b);
          backlogBytes += b.body.length;
          while (backlogBytes > MAX_BACKLOG_BYTES && backlog.length) {
            const old = backlog.shift()!;
            backlogBytes -= old.body.length;
            r.dropped += old.spans;
            counts.droppedQueueFull += old.spans;
          }
        } else {
          r.dropped += b.spans;
          counts.droppedRejected += b.spans;
        }
      }),
    );
    if (!paused) {
      failures = wait < 0 ? 0 : failures + 1;
      retryAt = wait < 0 ? 0 : now() + Math.min(Math.max(backoffMs(failures, RETRY_INITIAL_MS, RETRY_MAX_MS), wait), RETRY_MAX_MS);
    }
    for (const b of backlog) r.queued += b.spans;
    return r;
  }

  function invocationEnded(): Promise<ExportResult> | undefined {
    if (delayMs <= 0 || cut.length > 0 || source.pending() >= EXPORT_NOW_SPANS) return flush();
    const t = now();
    if (t < dueBy) return undefined;
    const by = (dueBy = t + delayMs + STALE_AFTER_MS);
    // The spans are taken when the timer fires (flush takes them synchronously),
    // in the context of the invocation whose waitUntil holds this promise.
    return new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => {
      if (dueBy === by) dueBy = 0;
      return flush();
    });
  }

  return { spanEnded, flush, shutdown: flush, ended: invocationEnded, stats: (): DeliveryStats => ({ ...counts }) };
}

/** A Transport posting with `fetch` (the unpatched one), aborted after `timeoutMs`. */
export function fetchTransport(fetchFn: typeof fetch, endpoint: string, headers: Record<string, string>, timeoutMs: number): Transport {
  return async (body, meta) => {
    const res = await fetchFn(endpoint, {
      method: 'POST',
      body: body as BodyInit,
      headers: { ...headers, 'content-type': meta.contentType, ...(meta.contentEncoding && { 'content-encoding': meta.contentEncoding }) },
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Read to its end (bounded): the connection is given back for the next export.
    await readBody(res);
    return { status: res.status, headers: res.headers, redirected: res.redirected };
  };
}
