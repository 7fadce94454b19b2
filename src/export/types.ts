// The contract between the tracer (spans in Wasm) and delivery (batching,
// sending, the localStorage queue).

/** One encoded OTLP request body, copied out of Wasm memory. */
export interface Encoded {
  /** ExportTraceServiceRequest bytes (protobuf or OTLP/JSON UTF-8). */
  readonly body: Uint8Array;
  /** Spans inside `body`. */
  readonly spans: number;
}

/** What delivery may ask of the span buffer. */
export interface SpanSource {
  /** `application/x-protobuf` or `application/json`. */
  readonly contentType: string;
  /** Ended spans waiting in Wasm to be encoded. */
  pending(): number;
  /**
   * Encodes the oldest ended spans into one request of at most `maxBytes`
   * and `maxSpans` spans (no count bound when absent) and removes them from
   * the buffer once `keep` (if any) has taken the bytes: a caller cut off
   * before then gets the same spans from its next drain. Returns null when
   * no span has ended. A span larger than `maxBytes` comes back alone in a
   * larger body.
   */
  drain(maxBytes: number, maxSpans?: number, keep?: (e: Encoded) => void): Encoded | null;
  /** Removes the spans of the last drain, if a caller cut off after its `keep` left them (a no-op otherwise). */
  commit(): void;
  /** Drop counters kept in Wasm. */
  stats(): SpanStats;
}

export interface SpanStats {
  /** Spans dropped because every span slot was in use. */
  readonly droppedSpans: number;
  /** Attributes, events or links dropped because span memory was full. */
  readonly droppedData: number;
  /** Spans dropped because alone they exceeded the largest request body. */
  readonly droppedOversize: number;
  /** Ended spans held by tail sampling until their trace is decided. */
  readonly held?: number;
}

/** The result of an export, returned as a value (never thrown). */
export interface ExportResult {
  /** Spans the collector accepted. */
  readonly sent: number;
  /** Spans kept in the queue (storage or memory) to be retried. */
  readonly queued: number;
  /** Spans given up on (rejected by the collector, or dropped over a bound). */
  readonly dropped: number;
}

/**
 * A pluggable way to send a body. The default posts it with fetch; tests,
 * benchmarks and unusual hosts may pass their own. It may reject on a
 * network error; delivery retries that like a 503. A synchronous throw says
 * the request cannot be made (bad options): that batch is dropped as rejected.
 */
export type Transport = (
  body: Uint8Array,
  meta: TransportMeta,
) => Promise<TransportResponse>;

export interface TransportMeta {
  readonly contentType: string;
  readonly spans: number;
  /** `gzip` when `body` is compressed. */
  readonly contentEncoding?: string;
  /** True when the request must outlive the page (keepalive). */
  readonly keepalive?: boolean;
  /** Aborts the request when the delivery timeout passes (a transport that ignores it is over then all the same). */
  readonly signal?: AbortSignal;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers?: { get(name: string): string | null };
  /** The response body, already read (used for partial success). */
  readonly body?: Uint8Array | string;
  readonly text?: () => Promise<string>;
  /** True when the answer came through a redirect (fetch's Response.redirected): see misdirected(). */
  readonly redirected?: boolean;
}

/** What `createPipeline` calls back into the tracer. */
export interface DeliveryHooks {
  /** Spans given up on; `reason` names why (e.g. `queue-full`, `rejected`). */
  dropped(reason: string, spans: number): void;
  /** An internal failure; the tracer's one error handler. Never throws. */
  error(e: unknown): void;
  /** The runtime's gzip, where it has a faster one than CompressionStream (Node: zlib). */
  gzip?: Gzip;
  /** The signal that aborts a request, given its timeout's (Node: which the exit budget also aborts). */
  signal?: (timeout: AbortSignal | undefined) => AbortSignal | undefined;
  /**
   * No page to outlive (Node): requests are not keepalive, so the 64 KiB
   * keepalive budget does not hold them back; only `maxConcurrentRequests` does.
   */
  pageless?: boolean;
  /** The page is being hidden, before delivery cuts its last batches; not called after shutdown(). */
  hidden?: () => void;
}

/** Spans delivery gave up on, by cause (also reported as `wasmtrace.dropped` spans while the collector answers). */
export interface DeliveryStats {
  /** Refused by the collector: a status not retried (400, 401, 413, …) or partial success. */
  readonly droppedRejected: number;
  /** Evicted, oldest first, by the queue bound (`maxQueueBytes`, or the storage quota). */
  readonly droppedQueueFull: number;
  /**
   * Still unsent when shutdown() ended with nowhere to keep them (no storage):
   * their retries failed or ran out. Also stored batches found corrupt.
   */
  readonly droppedUnsent: number;
}

/** Compresses a body; null when it cannot. */
export type Gzip = (bytes: Uint8Array) => Promise<Uint8Array | null>;

/** Batching and delivery of the spans a `SpanSource` holds. */
export interface Pipeline {
  /** Called once per ended span: counts and schedules, O(1), never encodes. */
  spanEnded(): void;
  /**
   * Encodes every ended span and tries each batch that is due once;
   * `retryNow` (the flush at a Node exit): a batch awaiting its retry too,
   * unless its last request got no answer in time.
   */
  flush(retryNow?: boolean): Promise<ExportResult>;
  /**
   * Flushes, trying once more every batch awaiting a retry, then sends the
   * drop reports made meanwhile; stops timers and listeners. Later calls do nothing.
   */
  shutdown(): Promise<ExportResult>;
  /** Delivery's loss counters. */
  stats(): DeliveryStats;
}

/** The subset of the Web Storage API the queue uses. */
export interface StorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Delivery options as the user may give them (all optional). */
export interface DeliveryOptions {
  /** OTLP/HTTP traces URL; default `http://localhost:4318/v1/traces`. */
  endpoint?: string;
  /** Wire format; default `http/protobuf`. Must match the source's encoder. */
  protocol?: 'http/protobuf' | 'http/json';
  /** Extra request headers (e.g. authorization). Never written to storage. */
  headers?: Record<string, string>;
  /** Spans that trigger an export; default 512. */
  maxExportBatchSize?: number;
  /** Longest wait before ended spans are exported, ms; default 5000. */
  scheduledDelayMs?: number;
  /**
   * `gzip`, `none`, or `auto` (default): gzip unless the page would need a CORS
   * preflight for `Content-Encoding` (a document posting to another origin).
   */
  compression?: 'gzip' | 'none' | 'auto';
  /** Bound on queued encoded bytes (storage and memory); default 1 MiB. */
  maxQueueBytes?: number;
  /** Where batches are written ahead; default `globalThis.localStorage` when usable, `null` disables. */
  storage?: StorageLike | null;
  /** Prefix of every storage key; default `wasmtrace:`. */
  storageKeyPrefix?: string;
  /** First retry delay, ms; default 1000. */
  retryInitialDelayMs?: number;
  /** Longest retry delay (and longest Retry-After honoured), ms; default 60000. */
  retryMaxDelayMs?: number;
  /** Attempts per batch before it is parked until the next trigger; default 5. */
  maxAttempts?: number;
  /** Requests in flight at once; default 2, in pages 6 (their batches should be in flight before the page closes). */
  maxConcurrentRequests?: number;
  /**
   * Time before a request is aborted and retried, ms, 0..600000; default
   * 10000; 0 is no limit (taken as 600000). Requests started within the same
   * second share one timer, so one may run up to 1 s (or a tenth of this) longer.
   */
  timeoutMs?: number;
  /** A custom sender; default fetch. */
  transport?: Transport;
}

/** Options after defaults and clamping. */
export interface ResolvedDeliveryOptions {
  readonly endpoint: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly headers: Readonly<Record<string, string>>;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly compression: 'gzip' | 'none' | 'auto';
  readonly maxQueueBytes: number;
  readonly storage: StorageLike | null;
  readonly storageKeyPrefix: string;
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly maxAttempts: number;
  readonly maxConcurrentRequests: number;
  readonly timeoutMs: number;
  readonly transport: Transport | null;
}
