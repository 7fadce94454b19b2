// Delivery for Workers: everything ended is encoded and posted when the
// invocation finishes, inside ctx.waitUntil, so no response waits for it.
// There is no storage and no timer that outlives an invocation: a batch the
// collector could not take (network error, 429, 502-504) is kept in memory,
// bounded, and retried by the next invocation's flush.
import type { Delivery } from '../src/tracer.js';
import type { Encoded, ExportResult, SpanSource, Transport } from '../src/export/types.js';

/** Largest body cut from the span buffer, bytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** Bytes of failed batches kept for the next flush. */
const MAX_BACKLOG_BYTES = 256 * 1024;

export function createDelivery(source: SpanSource, send: Transport): Delivery {
  let backlog: Encoded[] = [];
  let backlogBytes = 0;

  async function flush(): Promise<ExportResult> {
    // Taken synchronously: concurrent invocations never send a batch twice.
    const batches = backlog;
    backlog = [];
    backlogBytes = 0;
    for (let guard = source.pending(), e; guard-- >= 0 && source.pending() > 0 && (e = source.drain(MAX_BODY_BYTES)); ) batches.push(e);
    const r = { sent: 0, queued: 0, dropped: 0 };
    await Promise.all(
      batches.map(async (b) => {
        let status = 0;
        try {
          status = (await send(b.body, { contentType: source.contentType, spans: b.spans })).status;
        } catch {
          // network error, timeout: retryable (status 0)
        }
        if (status >= 200 && status < 300) r.sent += b.spans;
        else if (status === 0 || status === 429 || (status >= 502 && status <= 504)) {
          // Kept for the next flush; oldest first out when the bound is reached.
          backlog.push(b);
          backlogBytes += b.body.length;
          while (backlogBytes > MAX_BACKLOG_BYTES && backlog.length) {
            const old = backlog.shift()!;
            backlogBytes -= old.body.length;
            r.dropped += old.spans;
          }
        } else r.dropped += b.spans;
      }),
    );
    for (const b of backlog) r.queued += b.spans;
    return r;
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
    await res.arrayBuffer().catch(() => 0);
    return { status: res.status };
  };
}
