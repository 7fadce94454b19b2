// Batching and delivery: cuts encoded batches out of the span source, writes
// them ahead to storage, sends them within the keepalive budget, retries the
// retryable, and hands what is left to the next page at unload.
//
// Defaults chosen from PLATFORM-FACTS.md rather than the first draft:
// - every request, the one at page hide included, is `fetch(…, {keepalive})`
//   with bodies cut at 60 KiB and at most 64 KiB of keepalive bodies in
//   flight. sendBeacon is credentialed, its preflighted POST is dropped
//   against a Collector configured with origins only, and it reports success
//   either way, so it is used only where fetch does not exist.
// - gzip is `auto`: on unless a page would need a CORS preflight for
//   Content-Encoding (a document posting to another origin), which the
//   Collector's default CORS answer refuses. Bodies are compressed when cut,
//   never in a pagehide/visibilitychange handler.
// - a batch the browser accepted at unload is considered delivered (its
//   storage entry is removed): the one loss window is a collector that fails
//   exactly then. Everything not started is left in storage, unclaimed.
import { canGzip, gzip } from './gzip.js';
import { watchLifecycle } from './lifecycle.js';
import { KEEPALIVE_BUDGET, resolveDeliveryOptions } from './options.js';
import { createStorageQueue, newBatchId, type StorageQueue } from './queue.js';
import { backoffMs, outcomeOf, retryAfterMs } from './retry.js';
import { beacon, fetchTransport, rejectedSpans } from './send.js';
import type {
  DeliveryHooks, DeliveryOptions, Encoded, ResolvedDeliveryOptions, ExportResult, Pipeline, SpanSource, SpanStats, TransportResponse,
} from './types.js';

export { resolveDeliveryOptions } from './options.js';

/** Largest body cut from the source, bytes: one body always fits the keepalive budget. */
export const MAX_BODY_BYTES = 60 * 1024;
/** How long a page's claim on a stored batch lasts unless renewed, ms. */
const LEASE_MS = 30_000;
/** Wait between claiming stored batches and checking no other page took them, ms. */
const SETTLE_MS = 50;

interface Batch {
  readonly id: string;
  body: Uint8Array;
  readonly spans: number;
  readonly json: boolean;
  gzip: boolean;
  stored: boolean;
  attempts: number;
  /** Unix ms before which it is not sent; Infinity while parked. */
  dueAt: number;
  inflight: boolean;
  keepalive: boolean;
  /** Sent at unload: its storage entry was removed. */
  handedOff: boolean;
}

/** A body drained from the source and not yet queued (compression pending). */
interface Raw {
  readonly enc: Encoded;
  taken: boolean;
}

type Timer = ReturnType<typeof setTimeout>;

const unref = (t: Timer): Timer => {
  (t as { unref?: () => void }).unref?.();
  return t;
};

/** Creates the delivery pipeline for one tracer. Never throws. */
export function createPipeline(
  source: SpanSource,
  options: DeliveryOptions | ResolvedDeliveryOptions,
  hooks: DeliveryHooks,
): Pipeline {
  const fail = (e: unknown): void => {
    try {
      hooks.error(e);
    } catch {
      // The error handler's own failure goes nowhere.
    }
  };
  const o = resolveDeliveryOptions(options, {}, (m) => fail(new RangeError(m)));
  const json = source.contentType.includes('json');
  const compress = o.compression === 'gzip' || (o.compression === 'auto' && !needsPreflight(o.endpoint));
  const transport = o.transport ?? fetchTransport(o.endpoint, o.headers);
  const queue: Batch[] = [];
  const preparing: Raw[] = [];
  const inflight = new Set<Promise<void>>();
  const totals = { sent: 0, dropped: 0 };
  let lastStats: SpanStats = safeStats(source);
  let ended = 0;
  let delayTimer: Timer | null = null;
  let retryTimer: Timer | null = null;
  let retryAt = Infinity;
  let cutQueued = false;
  let active = 0;
  let keepaliveBytes = 0;
  let lastAdopt = -Infinity;
  let closed = false;

  const store: StorageQueue | null = o.storage
    ? createStorageQueue(o.storage, o.storageKeyPrefix, o.maxQueueBytes, LEASE_MS, (n) => drop('corrupt', n), fail)
    : null;

  // Drops are reported at once while the collector answers; while it does
  // not, they are tallied and reported after its next answer, so that the
  // report (a span of its own) is not itself lost to the queue bound.
  const unreported = new Map<string, number>();
  let answering = true;

  function drop(reason: string, spans: number): void {
    totals.dropped += spans;
    unreported.set(reason, (unreported.get(reason) ?? 0) + spans);
    if (answering) report();
  }

  function report(): void {
    const tallies = [...unreported];
    unreported.clear();
    for (const [reason, spans] of tallies) {
      try {
        hooks.dropped(reason, spans);
      } catch (e) {
        fail(e);
      }
    }
  }

  const queuedSpans = (): number => queue.reduce((n, b) => n + b.spans, 0);

  function forget(b: Batch): void {
    const i = queue.indexOf(b);
    if (i >= 0) queue.splice(i, 1);
  }

  /** Drains every ended span from the source as raw bodies. */
  function drainSource(): Raw[] {
    const out: Raw[] = [];
    try {
      for (let guard = source.pending() + 1; guard > 0 && source.pending() > 0; guard--) {
        const enc = source.drain(MAX_BODY_BYTES);
        if (!enc) break;
        const raw = { enc, taken: false };
        out.push(raw);
        preparing.push(raw);
      }
      const s = safeStats(source);
      if (s.droppedSpans > lastStats.droppedSpans) drop('buffer-full', s.droppedSpans - lastStats.droppedSpans);
      if (s.droppedOversize > lastStats.droppedOversize) drop('oversize', s.droppedOversize - lastStats.droppedOversize);
      lastStats = s;
    } catch (e) {
      fail(e);
    }
    ended = 0;
    return out;
  }

  /** Queues a body, written ahead to storage, within the queue bound. */
  function enqueue(raw: Raw, body: Uint8Array, gz: boolean): void {
    if (raw.taken) return;
    raw.taken = true;
    const i = preparing.indexOf(raw);
    if (i >= 0) preparing.splice(i, 1);
    const b: Batch = {
      id: newBatchId(), body, spans: raw.enc.spans, json, gzip: gz, stored: false, attempts: 0,
      dueAt: 0, inflight: false, keepalive: false, handedOff: false,
    };
    queue.push(b);
    writeAhead(b);
  }

  function writeAhead(b: Batch): void {
    if (store) {
      const busy = (id: string): boolean => queue.some((q) => q.id === id && (q.inflight || q === b));
      const r = store.write(b, busy);
      b.stored = r.stored;
      b.handedOff = false;
      for (const e of r.evicted) {
        const mine = queue.find((q) => q.id === e.id);
        if (mine) forget(mine);
        drop('queue-full', e.spans);
      }
    }
    // The same bound holds in memory (all of it when there is no storage).
    let total = queue.reduce((n, q) => n + q.body.length, 0);
    for (const q of [...queue]) {
      if (total <= o.maxQueueBytes) break;
      if (q.inflight || q === b) continue;
      forget(q);
      store?.remove(q.id);
      total -= q.body.length;
      drop('queue-full', q.spans);
    }
  }

  /** Drains the source; bodies are compressed first unless `urgent`. */
  async function cut(urgent: boolean): Promise<void> {
    const raws = drainSource();
    for (const raw of raws) {
      let body = raw.enc.body;
      let gz = false;
      if (compress && !urgent) {
        const z = await gzip(body);
        if (z && z.length < body.length) {
          body = z;
          gz = true;
        }
      }
      enqueue(raw, body, gz);
    }
  }

  /** Starts a batch; false when it must wait (budget, or another page holds it). */
  function start(b: Batch, urgent: boolean): boolean {
    if (b.stored && store && !b.handedOff && !store.hold(b.id)) {
      forget(b); // another page adopted it after our claim lapsed
      return true;
    }
    const small = b.body.length <= KEEPALIVE_BUDGET;
    const keepalive = small && keepaliveBytes + b.body.length <= KEEPALIVE_BUDGET;
    if (small && !keepalive) return false;
    if (urgent && !keepalive) return false; // only keepalive requests outlive the page
    const meta = {
      contentType: b.json ? 'application/json' : 'application/x-protobuf',
      spans: b.spans,
      keepalive,
      ...(b.gzip ? { contentEncoding: 'gzip' } : {}),
    };
    if (urgent && !o.transport && typeof fetch !== 'function') {
      // No fetch at all: sendBeacon or nothing. Refused batches stay stored.
      if (b.gzip || Object.keys(o.headers).length > 0 || !beacon(o.endpoint, b.body, meta.contentType)) return false;
      forget(b);
      store?.remove(b.id);
      totals.sent += b.spans;
      return true;
    }
    b.inflight = true;
    b.keepalive = keepalive;
    b.attempts++;
    active++;
    if (keepalive) keepaliveBytes += b.body.length;
    const ac = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = ac ? unref(setTimeout(() => ac.abort(), o.timeoutMs)) : null;
    let sent: Promise<TransportResponse>;
    try {
      sent = transport(b.body, ac ? { ...meta, signal: ac.signal } : meta);
    } catch (e) {
      sent = Promise.reject(e);
    }
    const done = sent
      .then(
        (res) => settle(b, res),
        () => settle(b, null),
      )
      .catch(fail)
      .finally(() => {
        if (timer) clearTimeout(timer);
        inflight.delete(done);
      });
    inflight.add(done);
    return true;
  }

  async function settle(b: Batch, res: TransportResponse | null): Promise<void> {
    const outcome = outcomeOf(res ? res.status : 0);
    let body = res?.body;
    if (outcome === 'ok' && body === undefined && res?.text) {
      try {
        body = await res.text();
      } catch {
        body = undefined;
      }
    }
    b.inflight = false;
    active--;
    if (b.keepalive) keepaliveBytes -= b.body.length;
    answering = outcome !== 'retry';
    if (outcome === 'ok') {
      const rejected = Math.min(b.spans, rejectedSpans(body, b.json));
      totals.sent += b.spans - rejected;
      if (rejected > 0) drop('partial-success', rejected);
      forget(b);
      store?.remove(b.id);
      revive();
      if (store && Date.now() - lastAdopt >= LEASE_MS) void adopt();
    } else if (outcome === 'reject') {
      forget(b);
      store?.remove(b.id);
      drop('rejected', b.spans);
    } else {
      if (b.handedOff) writeAhead(b); // the page outlived its unload: keep it again
      if (b.attempts >= o.maxAttempts) {
        b.dueAt = Infinity; // parked until online, a success, or the next page
      } else {
        const wait = Math.max(
          backoffMs(b.attempts, o.retryInitialDelayMs, o.retryMaxDelayMs),
          retryAfterMs(res?.headers?.get('retry-after'), Date.now()) ?? 0,
        );
        b.dueAt = Date.now() + Math.min(wait, o.retryMaxDelayMs);
      }
    }
    if (answering) report();
    if (!closed) {
      pump(false);
      scheduleRetry();
    }
  }

  /** Starts due batches, oldest first, within the request and budget bounds. */
  function pump(urgent: boolean, pick?: (b: Batch) => boolean): void {
    const now = Date.now();
    for (const b of [...queue]) {
      if (active >= o.maxConcurrentRequests && !urgent) break;
      if (b.inflight || b.dueAt > now || (pick && !pick(b))) continue;
      if (!start(b, urgent)) break;
    }
  }

  function scheduleRetry(): void {
    let next = Infinity;
    for (const b of queue) if (!b.inflight && b.dueAt < next) next = b.dueAt;
    if (next === Infinity || next >= retryAt) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryAt = next;
    retryTimer = unref(
      setTimeout(() => {
        retryTimer = null;
        retryAt = Infinity;
        pump(false);
        scheduleRetry();
      }, Math.max(0, next - Date.now())),
    );
  }

  /** Parked batches get a new retry chain. */
  function revive(): void {
    for (const b of queue) {
      if (b.dueAt === Infinity) {
        b.dueAt = 0;
        b.attempts = 0;
      }
    }
  }

  /** Takes over stored batches no live page holds (earlier pages, other tabs). */
  async function adopt(): Promise<void> {
    if (!store || closed) return;
    lastAdopt = Date.now();
    const ids = store.claimFree((id) => queue.some((b) => b.id === id));
    if (ids.length === 0) return;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    for (const id of ids) {
      if (!store.confirmed(id) || queue.some((b) => b.id === id)) continue;
      const s = store.read(id);
      if (!s) continue;
      queue.push({ ...s, stored: true, attempts: 0, dueAt: 0, inflight: false, keepalive: false, handedOff: false });
    }
    queue.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async function flushOnce(): Promise<ExportResult> {
    const sent0 = totals.sent;
    const dropped0 = totals.dropped;
    if (delayTimer) {
      clearTimeout(delayTimer);
      delayTimer = null;
    }
    await cut(false);
    if (store && Date.now() - lastAdopt >= LEASE_MS) await adopt();
    // Each due batch is tried once (by this flush or a concurrent one); what
    // fails waits for the retry timer.
    const base = new Map(queue.map((b) => [b, b.attempts]));
    const untried = (b: Batch): boolean => b.attempts <= (base.get(b) ?? 0);
    for (let guard = 0; guard < 100_000; guard++) {
      pump(false, untried);
      if (inflight.size === 0) break;
      await Promise.race(inflight);
    }
    scheduleRetry();
    return { sent: totals.sent - sent0, queued: queuedSpans(), dropped: totals.dropped - dropped0 };
  }

  async function flush(): Promise<ExportResult> {
    if (closed) return { sent: 0, queued: queuedSpans(), dropped: 0 };
    try {
      return await flushOnce();
    } catch (e) {
      fail(e);
      return { sent: 0, queued: queuedSpans(), dropped: 0 };
    }
  }

  let unloading = false;

  /** Page hidden or unloading: no compression, keepalive only, nothing awaited. */
  function hidden(final: boolean): void {
    if (closed) return;
    // On navigation, visibilitychange follows pagehide (web-vitals reports
    // then): a hide after pagehide is final too, until the page is shown again
    // (https://html.spec.whatwg.org/multipage/document-lifecycle.html#unloading-documents).
    if (final) unloading = true;
    else final = unloading;
    try {
      void cut(true);
      for (const raw of [...preparing]) enqueue(raw, raw.enc.body, false);
      pump(true);
      if (!final || !store) return;
      for (const b of queue) {
        if (b.inflight && b.keepalive) {
          store.remove(b.id); // handed to the browser, which sends it after unload
          b.handedOff = true;
        } else if (b.stored) {
          store.release(b.id); // the next page adopts it at once
        }
      }
    } catch (e) {
      fail(e);
    }
  }

  const unwatch = watchLifecycle({
    hidden,
    shown: () => {
      unloading = false;
      void adopt().then(() => pump(false));
    },
    online: () => {
      revive();
      void adopt().then(() => pump(false));
    },
  });

  if (store) void adopt().then(() => {
    pump(false);
    scheduleRetry();
  }).catch(fail);

  return {
    spanEnded() {
      if (closed) return;
      ended++;
      if (ended >= o.maxExportBatchSize) {
        if (!cutQueued) {
          cutQueued = true;
          queueMicrotask(() => {
            cutQueued = false;
            void flush();
          });
        }
      } else if (!delayTimer) {
        delayTimer = unref(
          setTimeout(() => {
            delayTimer = null;
            void flush();
          }, o.scheduledDelayMs),
        );
      }
    },
    flush,
    async shutdown() {
      if (closed) return { sent: 0, queued: queuedSpans(), dropped: 0 };
      const r = await flush();
      closed = true;
      unwatch();
      if (delayTimer) clearTimeout(delayTimer);
      if (retryTimer) clearTimeout(retryTimer);
      let lost = 0;
      for (const b of queue) {
        if (b.stored) store?.release(b.id);
        else lost += b.spans;
      }
      if (lost > 0) drop('shutdown', lost);
      report();
      return { sent: r.sent, queued: r.queued - lost, dropped: r.dropped + lost };
    },
  };
}

function safeStats(source: SpanSource): SpanStats {
  try {
    return source.stats();
  } catch {
    return { droppedSpans: 0, droppedData: 0, droppedOversize: 0 };
  }
}

/** True on a page whose requests to `endpoint` are cross-origin (CORS preflight). */
function needsPreflight(endpoint: string): boolean {
  const g = globalThis as { document?: unknown; location?: { origin?: string } };
  if (!g.document || !g.location?.origin) return false;
  try {
    return new URL(endpoint).origin !== g.location.origin;
  } catch {
    return true;
  }
}
