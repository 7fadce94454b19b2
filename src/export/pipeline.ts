// Batching and delivery: cuts encoded batches out of the span source, writes
// them ahead to storage, sends them within the keepalive budget, retries the
// retryable, and hands what is left to the next page at unload.
//
// Defaults chosen from docs/platform.md rather than the issue's first draft:
// - every request, the one at page hide included, is `fetch(…, {keepalive})`
//   with bodies cut at 60 KiB and at most 64 KiB of keepalive bodies in
//   flight. sendBeacon is credentialed, its preflighted POST is dropped
//   against a Collector configured with origins only, and it reports success
//   either way, so it is used only where fetch does not exist.
// - gzip is `auto`: on unless a page would need a CORS preflight for
//   Content-Encoding (a document posting to another origin), which the
//   Collector's default CORS answer refuses. Bodies are compressed when cut,
//   never in a pagehide/visibilitychange handler.
// - a batch is written ahead to storage unless the browser holds it: one in a
//   keepalive request is written only if that request fails. Writing every
//   batch cost Chromium ~0.2 ms per 60 KB batch (docs/performance.md) for a
//   request the browser finishes even if the page dies. So a batch the
//   browser accepted, at unload too, counts as delivered: the one loss window
//   is a collector that fails exactly then. A hidden page whose collector
//   failed its last answer, or that is offline, starts none: everything not
//   started is in storage, unclaimed at unload.
import { gunzip, gzip } from './gzip.js';
import { watchLifecycle } from './lifecycle.js';
import { KEEPALIVE_BUDGET } from './options.js';
import { createStorageQueue, LEASE_MS, newBatchId, type StoredBatch } from './queue.js';
import { backoffMs, misdirected, outcomeOf, retryAfterMs } from './retry.js';
import { beacon, fetchTransport, partialSuccess } from './send.js';
import { exporting } from './exporting.js';
import { debugOnce } from '../diag.js';
import type {
  DeliveryHooks, DeliveryStats, ResolvedDeliveryOptions, ExportResult, Pipeline, SpanSource, SpanStats, TransportMeta, TransportResponse,
} from './types.js';

export { resolveDeliveryOptions } from './options.js';

/** Largest body cut from the source, bytes: one body always fits the keepalive budget. */
export const MAX_BODY_BYTES = 60 * 1024;
/**
 * Keepalive bytes delivery may have in flight once the page is hidden, when
 * storage keeps what does not fit: the 64 KiB budget is the page's, and the
 * app's own unload requests (analytics, RUM beacons) get the other 16 KiB.
 * The browser refuses a request over budget only after the page is gone.
 */
const UNLOAD_BUDGET = 48 * 1024;
/** Requests may outlive timeoutMs by at most this (or a tenth of it), ms: see deadline(). */
const DEADLINE_SLACK_MS = 1000;
/** Ended spans held in Wasm before a synchronous cut: half its span pool (2,048 slots), the rest for live spans. */
const BURST_SPANS = 1024;
/** Wait between claiming stored batches and checking no other page took them, ms. */
const SETTLE_MS = 50;

interface Batch extends StoredBatch {
  _stored: boolean;
  _attempts: number;
  /** now() before which it is not sent; Infinity while parked. */
  _dueAt: number;
  _inflight?: boolean;
  _keepalive?: boolean;
  /** Sent at unload, the browser's: its storage entry removed (`_stored` false until it is refused and written again). */
  _handedOff?: boolean;
  /** keep() has tried to write it ahead. */
  _kept?: boolean;
  /** Its request's own controller (a page's, with storage) while in flight: see hidden(). */
  _ac?: AbortController;
  /** Its request was aborted at unload and its claim released: the next page sends it. */
  _parted?: boolean;
  /** Its keepalive request was rejected with no answer, decided a task later: see settle(). */
  _rejected?: boolean;
  /** Its last request was aborted by its signal (the timeout, Node's exit budget): no answer in time. */
  _cut?: boolean;
}

/** A body drained from the source and not yet queued (compression pending): [body, spans, its spans maybe still in the source]. */
type Raw = [Uint8Array, number, boolean?];

type Timer = ReturnType<typeof setTimeout> | undefined;

/**
 * Delivery's clock, ms: monotonic, so a wall clock set back (NTP, the user,
 * a VM resumed) stalls no deadline or retry; and never setClock's span clock,
 * which may be frozen or coarse. Only storage claims need wall time.
 */
const now = (): number => performance.now();

const unref = (t: Timer): Timer => {
  (t as { unref?: () => void }).unref?.();
  return t;
};

/** Runs `fn` in a later task: when the main thread is idle (at most 500 ms on), where there is requestIdleCallback. */
const later = (fn: () => void): void => {
  const ric = (globalThis as { requestIdleCallback?: (f: () => void, o: { timeout: number }) => number }).requestIdleCallback;
  if (typeof ric === 'function') ric(fn, { timeout: 500 });
  else unref(setTimeout(fn, 0));
};

const batch = (s: StoredBatch, stored: boolean): Batch => ({ ...s, _stored: stored, _attempts: 0, _dueAt: 0 });

/** The stats counter of each drop reason the span source does not count itself. */
const COUNTER: Record<string, keyof DeliveryStats> = {
  rejected: 'droppedRejected',
  'partial-success': 'droppedRejected',
  'queue-full': 'droppedQueueFull',
  shutdown: 'droppedUnsent',
  corrupt: 'droppedUnsent',
};

/** Creates the delivery pipeline for one tracer. Never throws. */
export function createPipeline(source: SpanSource, o: ResolvedDeliveryOptions, hooks: DeliveryHooks): Pipeline {
  const fail = (e: unknown): void => {
    try {
      hooks.error(e);
    } catch {
      // The error handler's own failure goes nowhere.
    }
  };
  const json = source.contentType.includes('json');
  const g = globalThis as { document?: unknown; location?: { origin?: string } };
  // `auto`: no gzip where Content-Encoding would need a CORS preflight (a page posting to another origin).
  // No fetch (a page that removed it): every batch goes with sendBeacon, which sets no Content-Encoding.
  const beaconOnly = !o.transport && typeof fetch !== 'function';
  let compress = !beaconOnly && (o.compression === 'gzip' || (o.compression === 'auto' && !(g.document && g.location?.origin && new URL(o.endpoint).origin !== g.location.origin)));
  const transport = o.transport ?? fetchTransport(o.endpoint, o.headers, hooks.pageless);
  const zip = hooks.gzip ?? gzip;
  const queue: Batch[] = [];
  const preparing = new Set<Raw>();
  const inflight = new Set<Promise<void>>();
  const stats = (): SpanStats => {
    try {
      return source.stats();
    } catch {
      return { droppedSpans: 0, droppedData: 0, droppedOversize: 0 };
    }
  };
  let last = stats();
  let sent = 0;
  let dropped = 0;
  const counts: { -readonly [K in keyof DeliveryStats]: number } = { droppedRejected: 0, droppedQueueFull: 0, droppedUnsent: 0 };
  let ended = 0;
  let delayTimer: Timer;
  let retryTimer: Timer;
  let retryAt = Infinity;
  /** When pump() last looked at the queue: a batch due by then that it left waits for a settle, one due later for the retry timer. */
  let pumpedAt = -Infinity;
  let cutQueued = false;
  let active = 0;
  let keepaliveBytes = 0;
  /** Bytes of keepalive requests settled as torn down while the browser still sends them (counted in keepaliveBytes). */
  let lingering = 0;
  let lastAdopt = -Infinity;
  let closed = false;
  let unloading = false;
  let shared: AbortController | undefined;
  let sharedUntil = 0;
  /** The deadlines' controllers not yet due: shutdown() aborts them when its time is up (no storage). */
  const deadlines = new Set<AbortController>();
  const slack = Math.min(DEADLINE_SLACK_MS, o.timeoutMs / 10);

  const store = o.storage
    ? createStorageQueue(o.storage, o.storageKeyPrefix, o.maxQueueBytes, o.timeoutMs + LEASE_MS, (n) => drop('corrupt', n), fail)
    : null;

  // Drops are reported once the current task's work is done (a burst of
  // spans that overflows the queue gets one report per reason, made after
  // the batches it evicts) while the collector answers; while it does not,
  // they are tallied and reported after its next answer. Either way the
  // report (a span of its own) is not itself lost to the queue bound.
  const unreported = new Map<string, number>();
  let answering = true;
  /**
   * Answers in a row that took none of their batch's spans. From the second
   * on, losses are tallied until an answer takes spans: a collector refusing
   * everything (a wrong key's 401) refused each report too, which was
   * reported again, one request per scheduledDelayMs for good.
   */
  let refusals = 0;
  const reporting = (): boolean => answering && refusals < 2;
  let reportQueued = false;
  /** Set once shutdown has sent its last reports: a report made later would never leave. */
  let silent = false;

  function drop(reason: string, spans: number): void {
    if (!(spans > 0)) return; // nothing lost: no report
    dropped += spans;
    const k = COUNTER[reason];
    if (k) counts[k] += spans;
    unreported.set(reason, (unreported.get(reason) ?? 0) + spans);
    if (reporting() && !reportQueued) {
      reportQueued = true;
      queueMicrotask(() => {
        reportQueued = false;
        if (reporting()) report();
      });
    }
  }

  function report(): void {
    if (unreported.size === 0 || silent) return;
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

  const result = (s: number, d: number): ExportResult => ({ sent: s, queued: queue.reduce((n, b) => n + b._spans, 0), dropped: d });
  const has = (id: string): boolean => queue.some((b) => b._id === id);

  function forget(b: Batch): void {
    const i = queue.indexOf(b);
    if (i >= 0) queue.splice(i, 1);
  }

  /** Done with a batch: out of the queue and out of storage. */
  function finish(b: Batch): void {
    forget(b);
    if (b._stored) store?._remove(b._id);
  }

  /** Drains every ended span from the source as raw bodies. */
  function drainSource(): Raw[] {
    const out: Raw[] = [];
    try {
      // Each body is kept in `preparing` before Wasm lets its spans go: from
      // a pagehide handler the browser ends partway, the next handler sends
      // it, and commits the spans if that handler ended before it could.
      for (const raw of preparing) if (raw[2]) source.commit(), (raw[2] = false);
      for (let guard = source.pending() + 1; guard > 0 && source.pending() > 0; guard--) {
        let raw: Raw | undefined;
        source.drain(MAX_BODY_BYTES, o.maxExportBatchSize, (e) => void preparing.add((raw = [e.body, e.spans, true])));
        if (!raw) break;
        raw[2] = false;
        out.push(raw);
      }
      const s = stats();
      const grew = (k: 'droppedSpans' | 'droppedOversize', reason: string): unknown => s[k] > last[k] && drop(reason, s[k] - last[k]);
      grew('droppedSpans', 'buffer-full');
      grew('droppedOversize', 'oversize');
      last = s;
    } catch (e) {
      fail(e);
    }
    ended = 0;
    return out;
  }

  /** Queues a body, written ahead to storage, within the queue bound. */
  function enqueue(raw: Raw, body: Uint8Array, gz: boolean): void {
    if (!preparing.has(raw)) return;
    // A literal, not batch()'s spread: one object of a stable shape per batch.
    const b: Batch = { _id: newBatchId(), _body: body, _spans: raw[1], _json: json, _gzip: gz, _stored: false, _attempts: 0, _dueAt: 0 };
    // From `preparing` to the queue with no call between (a handler the
    // browser ends stops only at a call or a loop: see retake()): the body
    // is in one of them when the next listener looks, never neither nor both.
    queue.push(b);
    preparing.delete(raw);
    bound(b); // written ahead by keep() unless a keepalive request takes it first
  }

  /** Queues the bodies still being compressed uncompressed (their compression's own enqueue is then a no-op). */
  function asTheyAre(): void {
    for (const raw of [...preparing]) enqueue(raw, raw[0], false);
  }

  /**
   * Writes ahead each batch the browser does not hold: waiting to be sent or
   * retried, or in a request without keepalive (which dies with the page).
   */
  function keep(): void {
    if (!store) return;
    for (const b of [...queue]) {
      // Once per batch here (a storage that refuses it is not asked again at
      // every pump); a failed send writes it again in settle().
      // One handed to the browser at unload is its own, answering or not: written, it was aborted by the next pass.
      if (!b._stored && !b._kept && !(b._inflight && (b._handedOff || (b._keepalive && answering)))) {
        b._kept = true;
        writeAhead(b);
      }
    }
  }

  function writeAhead(b: Batch): void {
    if (store) {
      b._stored = store._write(
        b,
        (id) => queue.some((q) => q._id === id && (q._inflight || q === b)),
        (e) => {
          const mine = queue.find((q) => q._id === e._id);
          if (mine) forget(mine);
          drop('queue-full', e._spans);
        },
      );
      b._handedOff = false;
    }
    bound(b);
  }

  /** The queue bound, in memory (all of it when there is no storage): the oldest idle batches go first. */
  function bound(b: Batch): void {
    let total = queue.reduce((n, q) => n + q._body.length, 0);
    for (const q of [...queue]) {
      if (total <= o.maxQueueBytes) break;
      if (q._inflight || q === b) continue;
      finish(q);
      total -= q._body.length;
      drop('queue-full', q._spans);
    }
  }

  /** Drains the source; bodies are compressed first unless `urgent`. */
  async function cut(urgent: boolean): Promise<void> {
    for (const raw of drainSource()) {
      const z = compress && !urgent ? await zip(raw[0]) : null;
      const gz = !!z && z.length < raw[0].length;
      enqueue(raw, gz ? z : raw[0], gz);
    }
  }

  /**
   * The abort signal of a request starting now: aborted between timeoutMs
   * and timeoutMs + DEADLINE_SLACK later. Requests that start within the
   * same slack share one controller and one timer, so a busy server does not
   * pay for both on every batch.
   */
  function deadline(): AbortSignal {
    const t = now();
    if (!shared || shared.signal.aborted || t > sharedUntil) {
      const ac = new AbortController();
      deadlines.add(ac);
      unref(setTimeout(() => (deadlines.delete(ac), ac.abort()), o.timeoutMs + slack));
      shared = ac;
      sharedUntil = t + slack;
    }
    return shared.signal;
  }

  /** Storage was cleared under the queue: each batch is written again when it must wait. */
  function unstore(): void {
    for (const q of queue) q._stored = q._kept = false;
  }

  /** Starts a batch; false when it must wait for a request in flight to settle (the keepalive budget). */
  function start(b: Batch, urgent: boolean): boolean {
    if (b._stored && store) {
      const held = store._hold(b._id);
      // Storage cleared (by the app, the user): every batch is sent from
      // memory, and written again if it must wait.
      if (held === null) unstore();
      else if (!held) {
        forget(b); // another page adopted it after our claim lapsed
        return true;
      }
    }
    const len = b._body.length;
    const small = len <= KEEPALIVE_BUDGET;
    const keepalive = !hooks.pageless && small && keepaliveBytes + len <= (urgent && store ? UNLOAD_BUDGET : KEEPALIVE_BUDGET);
    // Only keepalive requests outlive the page.
    if (!hooks.pageless && (small || urgent) && !keepalive) return false;
    const contentType = b._json ? 'application/json' : 'application/x-protobuf';
    if (beaconOnly) {
      // Its loss is invisible: a true counts as sent. One with headers or gzip it
      // cannot send is parked (kept in storage for a page with fetch); one it
      // refuses (its quota, or no sendBeacon) is tried again as a failed request.
      if (b._gzip || Object.keys(o.headers).length > 0) b._dueAt = Infinity;
      else if (beacon(o.endpoint, b._body, contentType)) {
        finish(b);
        sent += b._spans;
      } else {
        b._attempts++;
        retryLater(b);
      }
      return true; // it waits for no request in flight
    }
    const timeout = hooks.signal ? hooks.signal(deadline()) : deadline();
    // A page's request that storage may hand to the next page has a
    // controller of its own: hidden() aborts it then, so only that page sends it.
    const own = store && g.document ? new AbortController() : undefined;
    b._ac = own;
    const signal = own ? own.signal : timeout;
    const meta: TransportMeta = {
      contentType,
      spans: b._spans,
      keepalive,
      ...(b._gzip && { contentEncoding: 'gzip' }),
      ...(signal && { signal }),
    };
    // The transport is called synchronously (in a pagehide handler too); a
    // throw means the request cannot be made: no retry makes it. One that
    // ignores the signal is still over at the deadline.
    let refused = false;
    // Called before the deadline's listener is added: a handler the browser
    // ends inside this call (Firefox, closing a tab) leaves no promise that
    // rejects unhandled at the deadline in a page that lives on.
    let sending: Promise<TransportResponse>;
    // In flight, and marked for retake(), with no call between this and the
    // transport's: a handler ended before is idle (the next listener sends it).
    b._inflight = true;
    b._keepalive = keepalive;
    b._cut = false;
    b._attempts++;
    active++;
    if (keepalive) keepaliveBytes += len;
    exporting._batch = b; // still set afterwards only when the browser ended the handler inside the call
    exporting._entered = exporting._passed = undefined;
    try {
      sending = Promise.resolve(transport(b._body, meta));
    } catch (e) {
      refused = true;
      sending = Promise.reject(e);
    }
    exporting._batch = exporting._entered = exporting._passed = undefined;
    // Removed once settled: the signal is shared by the requests of a while,
    // and each listener held its batch (and made adding the next one slower).
    let onAbort = (): void => {};
    const settled = (res: TransportResponse | null, e?: unknown): Promise<void> => {
      timeout?.removeEventListener('abort', onAbort);
      own?.signal.removeEventListener('abort', onAbort);
      return settle(b, res, e, refused);
    };
    // One reaction per step (no finally()s, which cost two each): fail() never throws.
    const done: Promise<void> = new Promise<TransportResponse>((r, j) => {
      // The deadline aborts the request (through its own controller too), and
      // so does hidden() through that controller: a transport that ignores
      // the signal is over for delivery all the same.
      onAbort = () => {
        const why = (timeout?.aborted ? timeout : signal)!.reason;
        b._cut = true;
        // One handed to the browser at unload is left to it: aborted, it was
        // neither sent nor stored. (Shown again from the back/forward cache,
        // the page retries it: that request is aborted, or it went twice.)
        if (!(b._handedOff && unloading)) own?.abort(why);
        j(why);
      };
      timeout?.addEventListener('abort', onAbort, { once: true });
      own?.signal.addEventListener('abort', onAbort, { once: true });
      sending.then(r, j);
    })
      .then(settled, (e: unknown) => settled(null, e))
      .catch(fail)
      .then(() => void inflight.delete(done));
    inflight.add(done);
    return true;
  }

  async function settle(b: Batch, res: TransportResponse | null, err?: unknown, refused?: boolean): Promise<void> {
    // 415 to a gzip body: the collector (or a proxy before it) takes no gzip.
    // The batch goes again at once, uncompressed, and no later one is compressed.
    const plain = res?.status === 415 && b._gzip ? ((compress = false), await gunzip(b._body)) : null;
    // A 2xx after a redirect that is no OTLP answer took no span: refused, as a 3xx is.
    const away = !!res && misdirected(res);
    const outcome = refused || away ? 'reject' : plain ? 'retry' : outcomeOf(res ? res.status : 0);
    if (!res && b._keepalive && !unloading && g.document) {
      // Chromium rejects a page's keepalive fetches as its document starts to
      // unload — before delivery's pagehide listener runs — and goes on
      // sending them. The failure is decided a task later, the batch still in
      // flight: if the page unloads meanwhile, pagehide hands it to the
      // browser (and the task never runs); stored and adopted by the next
      // page instead, it was sent twice (e2e: reload while an export is in flight).
      b._rejected = true;
      await new Promise((r) => setTimeout(r, 0));
      b._rejected = false;
    }
    let body = res?.body;
    if (outcome === 'ok' && body === undefined && res?.text) {
      try {
        body = await res.text();
      } catch {
        // no body: no partial-success figure
      }
    }
    b._inflight = false;
    b._ac = undefined;
    active--;
    if (b._keepalive) keepaliveBytes -= b._body.length;
    // Aborted by hidden(): not an answer, nor an attempt. Stored, its claim
    // released, it waits for the next page, or for this one if shown again.
    if (b._parted && !res) return void b._attempts--;
    b._parted = false;
    // A document being torn down rejects its keepalive fetches while the
    // browser goes on sending them: no answer of the collector's.
    const tornDown = b._handedOff && !res && unloading;
    // Still the browser's to send: its bytes count against the unload budget
    // until the page is shown again (freed, they started a request over the
    // browser's keepalive quota, refused and lost).
    if (tornDown && b._keepalive) {
      keepaliveBytes += b._body.length;
      lingering += b._body.length;
    }
    if (!tornDown) answering = !!plain || outcome !== 'retry';
    if (outcome !== 'ok' && !tornDown) {
      // Once per kind of failure: a status, or the error and its cause's code ("fetch failed (ECONNREFUSED)").
      const e = err as { cause?: { code?: unknown; message?: unknown }; message?: unknown } | undefined;
      const cause = e?.cause && ` (${String(e.cause.code ?? e.cause.message)})`;
      const why = res ? `HTTP ${res.status}${away ? ` (${res.headers?.get('content-type')}) after a redirect: no OTLP answer (a 301/302/303 turns the POST into a GET; 307/308 keep it)` : ''}` : String(e?.message ?? e) + (cause || '');
      debugOnce(`export to ${o.endpoint} failed: ${why}; ${plain ? 'sent again uncompressed' : outcome !== 'retry' || (closed && !store) ? 'dropped' : closed ? 'stored' : 'retried'}`);
    }
    if (plain) Object.assign(b, { _body: plain, _gzip: false }); // fields read-only to the storage queue
    if (outcome === 'ok') {
      const [n, why] = partialSuccess(body, b._json);
      // The collector's message, once; a count that is none (a negative) counts the batch sent.
      if (why || n < 0) debugOnce(`export to ${o.endpoint}: partial success${n < 0 ? ' (an invalid count: none counted rejected)' : ''}${why && `: ${why}`}`);
      const rejected = Math.min(b._spans, Math.max(0, n));
      refusals = rejected < b._spans ? 0 : refusals + 1;
      sent += b._spans - rejected;
      if (rejected > 0) drop('partial-success', rejected);
      finish(b);
      revive();
      if (store) void resume(true); // batches of earlier pages, started once adopted
    } else if (outcome === 'reject') {
      refusals++;
      finish(b);
      drop('rejected', b._spans);
    } else if (tornDown) {
      // The batch is the browser's now. Kept or retried here, it would be
      // sent a second time.
      forget(b);
    } else if (closed) {
      // Still in flight when shutdown() gave up waiting: kept for the next
      // page if storage takes it, else lost, and counted.
      if (!b._stored) writeAhead(b);
      if (b._stored) store?._release(b._id);
      else {
        forget(b);
        drop('shutdown', b._spans);
      }
    } else {
      // Failed in the browser's hands (or after an unload the page outlived); or stored gzipped.
      if (plain || !b._stored) writeAhead(b);
      if (plain) b._attempts--; // not an attempt: the collector did not read it; still due
      else retryLater(b, res);
    }
    if (reporting()) report();
    proceed();
  }

  /** Starts what is due after an answer, a retry timer or an adoption. */
  function proceed(): void {
    if (closed) return; // nothing is sent after shutdown()
    pump(false);
    scheduleRetry();
  }

  /**
   * Starts due batches, oldest first, within the request and budget bounds.
   * `urgent` (unload): a batch that does not fit what is left of the budget
   * stays for the next page, and smaller ones behind it go (OTLP has no order).
   */
  function pump(urgent: boolean, pick?: (b: Batch) => boolean): void {
    // Nothing is sent after shutdown(): not by a flush begun before it that
    // resumes later (its compression outlasted shutdown()'s time).
    if (closed) return;
    // After the final hide, while the page runs on (an answer, a retry
    // timer, a flush in progress), a page with storage sends as at unload: a
    // stored batch started otherwise stayed in storage under this page's
    // claim, and the next page sent it again once the claim lapsed.
    if (unloading && store && !urgent) return sendAtUnload(true);
    retake();
    const t = (pumpedAt = now());
    for (const b of [...queue]) {
      if (active >= o.maxConcurrentRequests && !urgent) break;
      if (b._inflight || b._parted || b._dueAt > t || (pick && !pick(b))) continue;
      if (!start(b, urgent) && !urgent) break;
    }
    keep();
  }

  /**
   * Batches whose transport call never returned: Firefox, closing a tab,
   * ends a pagehide listener at its next function call or loop once the
   * close asks it to, then runs the next listeners. A batch whose request
   * the SDK's fetch wrapper had not yet passed on to the fetch below it (its
   * own code before that call: the URL, the headers) never left: it is idle
   * again, for the next listener (visibilitychange follows) or the next page.
   * One passed on is in flight; one ended before reaching the wrapper, or
   * where the wrapper is not in the chain, is taken as sent (Firefox ends
   * it most often just after fetch() returns, the request on its way:
   * sending every such batch again made 14 duplicates for 2 saved).
   */
  function retake(): void {
    const b = exporting._batch as Batch | undefined;
    if (!b || !queue.includes(b)) return; // none, or another pipeline's
    exporting._batch = undefined;
    if (exporting._entered === b && exporting._passed !== b) {
      b._inflight = false;
      active--;
      if (b._keepalive) keepaliveBytes -= b._body.length;
    }
  }

  /** After a failed attempt: due after its backoff (or Retry-After); parked after the last until online, a success, or the next page. */
  function retryLater(b: Batch, res?: TransportResponse | null): void {
    b._dueAt =
      b._attempts >= o.maxAttempts
        ? Infinity
        : now() +
          Math.min(
            Math.max(backoffMs(b._attempts, o.retryInitialDelayMs, o.retryMaxDelayMs), retryAfterMs(res?.headers?.get('retry-after'), Date.now()) ?? 0),
            o.retryMaxDelayMs,
          );
  }

  function scheduleRetry(): void {
    // Nothing is sent after shutdown(); after the final hide, what is stored waits for the next page.
    if (closed || (unloading && store)) return;
    let next = Infinity;
    // A batch already due when pump() ran, and left, waits for a request in
    // flight (a slot, the keepalive budget): its settle pumps. A timer would
    // spin. One that fell due after pump() ran (the clock moved on in
    // between) gets the timer: pump() never saw it due.
    for (const b of queue) if (!b._inflight && b._dueAt < next && (b._dueAt > pumpedAt || !active)) next = b._dueAt;
    if (next >= retryAt) return;
    clearTimeout(retryTimer);
    retryAt = next;
    retryTimer = unref(
      setTimeout(() => {
        retryAt = Infinity;
        proceed();
      }, Math.max(0, next - now())),
    );
  }

  /** Parked batches get a new retry chain. */
  function revive(): void {
    for (const b of queue) if (b._dueAt === Infinity) b._dueAt = b._attempts = 0;
  }

  /** The adoption under way: a flush, and so shutdown, waits for its batches rather than skip them. */
  let adopting: Promise<void> | undefined;
  /** Ids claimed by the adoption under way, not yet in the queue: an unloading page lets them go too. */
  let claiming: string[] = [];
  const adopt = (ifStale?: boolean): Promise<void> => {
    if (!adopting) adopting = claimStored(ifStale).finally(() => void (adopting = undefined));
    else keep(); // joining it: nothing new waits unwritten meanwhile
    return adopting;
  };

  /** Takes over stored batches no live page holds (earlier pages, other tabs); `ifStale`: unless done within a lease. */
  async function claimStored(ifStale?: boolean): Promise<void> {
    // Not after the final hide: claims the page may not live to confirm would hold batches from the next page.
    if (!store || closed || unloading || (ifStale && now() - lastAdopt < LEASE_MS)) return;
    lastAdopt = now();
    const ids = store._claimFree(has);
    if (ids.length === 0) return;
    keep(); // nothing new waits unwritten meanwhile
    claiming = ids;
    try {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    } finally {
      claiming = [];
    }
    for (const id of ids) {
      const s = store._confirmed(id) && !has(id) && store._read(id);
      if (s) queue.push(batch(s, true));
    }
    queue.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  /** Sends what is due; no batch starts after `until` (a now() time). */
  async function flushOnce(until: number): Promise<ExportResult> {
    const sent0 = sent;
    const dropped0 = dropped;
    clearTimeout(delayTimer);
    delayTimer = undefined;
    await cut(false);
    if (store) await adopt(true);
    // Each due batch is tried once (by this flush or a concurrent one); what
    // fails waits for the retry timer.
    const base = new Map(queue.map((b) => [b, b._attempts]));
    const untried = (b: Batch): boolean => b._attempts <= (base.get(b) ?? 0) && now() < until;
    for (let guard = 0; guard < 100_000; guard++) {
      pump(false, untried);
      if (inflight.size === 0) break;
      await Promise.race(inflight);
    }
    scheduleRetry();
    return result(sent - sent0, dropped - dropped0);
  }

  async function flush(until = Infinity): Promise<ExportResult> {
    try {
      if (!closed) return await flushOnce(until);
    } catch (e) {
      fail(e);
    }
    return result(0, 0);
  }

  /** Page hidden or unloading: no compression, keepalive only, nothing awaited. */
  function hidden(final: boolean): void {
    if (closed) return;
    // On navigation, visibilitychange follows pagehide (web-vitals reports
    // then): a hide after pagehide is final too, until the page is shown again
    // (https://html.spec.whatwg.org/multipage/document-lifecycle.html#unloading-documents).
    // The hide that makes it final, and not one after it: see sendAtUnload.
    const first = final && !unloading;
    if (final) unloading = true;
    else final = unloading;
    retake(); // before any keep(): a batch ended before its request left is not in flight
    try {
      hooks.hidden?.();
    } catch (e) {
      fail(e); // the last batches are cut all the same
    }
    try {
      void cut(true);
      asTheyAre();
      if (queue.some((b) => b._stored) && store?._cleared()) unstore(); // else taken for stored, they would reach no page
      // One storage refused (the quota full of the app's keys, writes that
      // throw), or with no storage, is in this page's memory alone: sent all
      // the same at the final hide, awaiting its retry or not, its one chance.
      // Once: a page that runs on after it (an answer, a retry timer) sends
      // from here as at unload (pump), and a failure there waits its backoff.
      if (first) for (const b of queue) if (!b._stored && !b._inflight) b._dueAt = 0;
      sendAtUnload(final);
    } catch (e) {
      fail(e);
    }
  }

  /**
   * Sends what the unload keepalive budget takes; `final`: hands what it
   * started to the browser and leaves the rest stored for the next page.
   */
  function sendAtUnload(final: boolean): void {
    try {
      // The collector failed its last answer, or the browser is offline: a
      // keepalive request now would most likely fail after the page is gone,
      // out of its sight. Stored, the batches go with the next page instead
      // (sent at unload too, they went twice once the collector was back).
      // One storage refused is sent all the same (made due at the final hide: hidden()).
      if (store && (!answering || (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false)) keep(), pump(true, (b) => !b._stored);
      else pump(true);
      if (!final || !store) return;
      for (const b of queue) {
        // Also one whose failure waits a task (a keepalive fetch Chromium
        // rejected as the document began to unload) while the collector does
        // not answer: Chromium goes on sending it, aborted or not; released,
        // the next page sent it again (e2e offlineThenReload). Lost if it fails.
        // And one storage refused: the browser's only, and never the next page's.
        if (b._inflight && b._keepalive && (answering || b._rejected || !b._stored)) {
          // Handed to the browser, which sends it after unload: out of storage
          // (written again only if it is refused), and no later pass parts it.
          if (b._stored) store._remove(b._id);
          b._stored = false;
          b._handedOff = true;
        } else if (b._stored) {
          // The next page adopts it at once. Its request, if any (a retry after
          // a failed answer), is aborted: finished by the browser after unload,
          // it was sent twice once the collector was back. One that had
          // already reached the collector still is.
          if (b._inflight) {
            b._parted = true;
            b._ac?.abort();
          }
          store._release(b._id);
        }
      }
      for (const id of claiming) store._release(id);
    } catch (e) {
      fail(e);
    }
  }

  /**
   * Drops the unsent batches nothing can keep (no storage), and parks the
   * stored ones for the next page; `release`: lets it adopt them now.
   */
  function giveUp(release: boolean): void {
    let lost = 0;
    for (const b of [...queue]) {
      if (b._inflight) continue;
      if (!b._stored) {
        forget(b);
        lost += b._spans;
      } else if (release) store?._release(b._id);
      else b._dueAt = Infinity;
    }
    if (lost > 0) drop('shutdown', lost);
  }

  const resume = (ifStale?: boolean): Promise<void> =>
    adopt(ifStale)
      .then(proceed)
      .catch(fail);

  const unwatch = watchLifecycle({
    hidden,
    shown: () => {
      unloading = false;
      keepaliveBytes -= lingering;
      lingering = 0;
      for (const b of queue) b._parted = false;
      void resume();
    },
    online: () => {
      revive();
      void resume();
    },
  });

  // Stored batches of earlier pages are adopted in a later task, not in the
  // caller's: the first localStorage scan is several ms of a page's load. A
  // flush before then adopts them itself.
  if (store) later(() => void (lastAdopt === -Infinity && !closed && resume()));

  return {
    spanEnded() {
      if (closed) return;
      // A synchronous burst ends spans faster than any later task can take
      // them: past BURST_SPANS they leave Wasm's fixed pool for the bounded
      // queue at once (uncompressed: compressing would wait for a task).
      if (ended >= BURST_SPANS) void cut(true);
      if (++ended >= o.maxExportBatchSize) {
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
            delayTimer = undefined;
            void flush();
          }, o.scheduledDelayMs),
        );
      }
    },
    flush(retryNow) {
      // The process exits (Node): its unref'd retry timer would never fire.
      // A collector that failed fast (a 503, a refused connection) gets the
      // batch again now, within the exit's rounds; one that did not answer in
      // time is not waited for again (the exit budget holds).
      if (retryNow) for (const b of queue) if (!b._inflight && !b._cut) b._dueAt = 0;
      return flush();
    },
    async shutdown() {
      if (closed) return result(0, 0);
      const sent0 = sent;
      const dropped0 = dropped;
      // A batch awaiting its retry (or parked) is tried once more, not given
      // up untried; all of it within timeoutMs, waiting for no request past it.
      const until = now() + o.timeoutMs;
      const within = (p: Promise<unknown>, by = until): Promise<unknown> => {
        let t: Timer;
        // Time up: no timer to wait for, which let a request's deadline (due too) fail it first.
        return Promise.race([p, new Promise((r) => (by > now() ? (t = unref(setTimeout(r, by - now()))) : r(0)))]).finally(() => clearTimeout(t));
      };
      for (const b of queue) b._dueAt = 0;
      await within(flush(until));
      giveUp(false);
      // Drops waiting for their report (made after the current task, or
      // tallied while the collector did not answer: then only if a report
      // can be kept for the next page when it does not answer still; or
      // while it refused everything: one last report, not one per delay).
      if (answering || store || refusals > 1) report();
      // One more drain: the drop reports made meanwhile (a rejection, the loss above).
      silent = true;
      await within(flush(until));
      closed = true;
      unwatch();
      clearTimeout(delayTimer);
      clearTimeout(retryTimer);
      // Bodies still being compressed (Node's thread pool kept busy past
      // timeoutMs) go as they are: written for the next page, else counted lost below.
      asTheyAre();
      keep();
      if (!store && inflight.size > 0) {
        // Time up, a request still in flight: with nothing to keep its batch
        // (a server exits right after), it is aborted now and its spans
        // counted lost here, not at its own deadline after the result said
        // queued. Its failure is settled in microtasks (a page's keepalive
        // one a task later); the slack only bounds a transport's signal that
        // is not the deadline's. With storage it goes on: failing, it is stored.
        for (const ac of deadlines) ac.abort();
        await within(Promise.all(inflight), now() + slack);
      }
      giveUp(true);
      return result(sent - sent0, dropped - dropped0);
    },
    stats: () => ({ ...counts }),
  };
}
