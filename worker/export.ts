// Delivery for Workers: everything ended is encoded and posted when the
// invocation finishes, inside ctx.waitUntil, so no response waits for it.
// There is no storage and no timer that outlives an invocation: a batch the
// collector could not take (network error, 429, 502-504) is kept in memory,
// bounded, and retried by the next invocation's flush.
import type { Delivery } from '../src/tracer.js';
import type { ExportResult, SpanSource, Transport } from '../src/export/types.js';

/** Largest body cut from the span buffer, bytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** Bytes of failed batches kept for the next flush. */
const MAX_BACKLOG_BYTES = 256 * 1024;

interface Batch {
  readonly body: Uint8Array;
  readonly spans: number;
}

export function createDelivery(source: SpanSource, send: Transport): Delivery {
  let backlog: Batch[] = [];
  let backlogBytes = 0;

  async function post(b: Batch): Promise<ExportResult> {
    let status = 0;
    try {
      status = (await send(b.body, { contentType: source.contentType, spans: b.spans })).status;
    } catch {
      status = 0; // network error, timeout: retryable
    }
    if (status >= 200 && status < 300) return { sent: b.spans, queued: 0, dropped: 0 };
    if (status === 0 || status === 429 || status === 502 || status === 503 || status === 504) {
      // Oldest first out when the bound is reached.
      backlog.push(b);
      backlogBytes += b.body.length;
      let dropped = 0;
      while (backlogBytes > MAX_BACKLOG_BYTES && backlog.length > 0) {
        const old = backlog.shift() as Batch;
        backlogBytes -= old.body.length;
        dropped += old.spans;
      }
      return { sent: 0, queued: b.spans, dropped };
    }
    return { sent: 0, queued: 0, dropped: b.spans };
  }

  async function flush(): Promise<ExportResult> {
    // Taken synchronously: concurrent invocations never send a batch twice.
    const batches = backlog;
    backlog = [];
    backlogBytes = 0;
    for (let guard = source.pending(); guard >= 0 && source.pending() > 0; guard--) {
      const e = source.drain(MAX_BODY_BYTES);
      if (!e) break;
      batches.push(e);
    }
    const results = await Promise.all(batches.map(post));
    let sent = 0;
    let dropped = 0;
    for (const r of results) {
      sent += r.sent;
      dropped += r.dropped;
    }
    return { sent, queued: backlog.reduce((n, b) => n + b.spans, 0), dropped };
  }

  return { spanEnded() {}, flush, shutdown: flush };
}

/** A Transport posting with `fetch` (the unpatched one), aborted after `timeoutMs`. */
export function fetchTransport(fetchFn: typeof fetch, endpoint: string, headers: Record<string, string>, timeoutMs: number): Transport {
  return async (body, meta) => {
    const res = await fetchFn(endpoint, {
      method: 'POST',
      body: body as BodyInit,
      headers: { ...headers, 'content-type': meta.contentType },
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Reading the body frees the connection; a partial success still counts as sent.
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  };
}
