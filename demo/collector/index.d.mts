// Types of the development collector's public module (index.mjs).

export interface CollectorOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Default 4318 (the OTLP/HTTP port); 0 picks a free one. */
  port?: number;
  /** CORS origins; default any loopback origin (http(s)://localhost|127.0.0.1|[::1] on any port). */
  allowedOrigins?: '*' | (string | RegExp)[];
  /** CORS request headers allowed (listed explicitly, never `*`). */
  allowedHeaders?: string[];
  /**
   * Host names (Host header, port aside) the viewer's API `/api/*` answers; default localhost,
   * 127.0.0.1, [::1] and `host`. Others get 403: a DNS-rebinding page cannot read or clear traces.
   */
  allowedHosts?: string[];
  /** Limit of a body as sent, in bytes; default 8 MiB. Over it: 413. */
  maxBodyBytes?: number;
  /** Limit of a body after decompression, in bytes; default 16 MiB. Over it: 413. */
  maxDecodedBytes?: number;
  /** Exports received at once; default 8. More get 503 with Retry-After. */
  maxConcurrentExports?: number;
  /** A request body must arrive within this many milliseconds of its headers; default 10,000. Else 408, connection closed. */
  bodyTimeoutMs?: number;
  /** Spans in one export request; default 10,000. More: 413, nothing of the request kept. */
  maxSpansPerRequest?: number;
  /** Objects (spans, events, links, attributes, values) in one export request; default 200,000. More: 413. */
  maxItemsPerRequest?: number;
  /** Traces kept; default 500. The least recently updated goes first. */
  maxTraces?: number;
  /** Spans kept over all traces; default 100,000. */
  maxSpans?: number;
  /** Spans kept per trace; default 20,000. More are rejected through partialSuccess. */
  maxSpansPerTrace?: number;
  /**
   * Approximate size of the spans kept, in bytes (their strings, and 64 for each object, member and
   * value); default 256 MiB. The least recently updated trace goes first; spans that would make one
   * trace larger are rejected through partialSuccess.
   */
  maxBytes?: number;
  /** Append every export to this file, one OTLP/JSON ExportTraceServiceRequest a line. */
  jsonlPath?: string;
  /** Serve the viewer at `/`; default true. */
  viewer?: boolean;
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  rootMissing: boolean;
  services: string[];
  spanCount: number;
  errorCount: number;
  /** Unix epoch milliseconds of the earliest span start. */
  startMs: number;
  /** Earliest start to latest end, in milliseconds. */
  durationMs: number;
  /** Unix epoch milliseconds of the last export touching the trace. */
  updatedMs: number;
}

export interface ApiSpan {
  traceId: string;
  spanId: string;
  /** '' for a root. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** OTLP SpanKind number: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** `service.name` of the span's resource. */
  service: string;
  /** Unix epoch nanoseconds, decimal. */
  startTimeUnixNano: string;
  /** Unix epoch nanoseconds, decimal. */
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  droppedAttributesCount: number;
  events: { timeUnixNano: string; name: string; attributes: Record<string, unknown> }[];
  droppedEventsCount: number;
  links: { traceId: string; spanId: string; traceState: string; attributes: Record<string, unknown> }[];
  droppedLinksCount: number;
  /** code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  scope: { name: string; version: string };
  /** Index into the trace's `resources`. */
  resource: number;
  /** Depth in the tree (roots 0); spans come in depth-first order. */
  depth: number;
  /** Milliseconds from the trace start. */
  startOffsetMs: number;
  durationMs: number;
  childCount: number;
  /** Has a parentSpanId that is not in the trace (yet). */
  parentMissing: boolean;
  /** Milliseconds this span spends on the critical path (its own time there). */
  criticalMs: number;
}

export interface ApiTrace {
  traceId: string;
  /** Unix epoch nanoseconds of the earliest span start, decimal. */
  startTimeUnixNano: string;
  durationMs: number;
  spanCount: number;
  errorCount: number;
  /** The root the critical path starts from: the earliest span without a parent (else the earliest orphan). */
  rootSpanId: string;
  /** Spans shown as roots: no parent, parent not received, or cut out of a parent cycle. */
  roots: string[];
  spans: ApiSpan[];
  resources: { attributes: Record<string, unknown> }[];
  criticalPath: {
    /** Duration of the root span; the segments add up to it. */
    durationMs: number;
    /** In time order; offsets in milliseconds from the trace start. */
    segments: { spanId: string; startOffsetMs: number; endOffsetMs: number }[];
    spanIds: string[];
  };
  serviceGraph: {
    nodes: { service: string; spanCount: number; errorCount: number }[];
    /** Parent-service → child-service, cross-service calls only, counted in spans. */
    edges: { from: string; to: string; count: number; errorCount: number }[];
  };
}

export interface TraceStore {
  add(spans: unknown[]): { accepted: number; refused: number; refusedForSize: number; touched: string[] };
  list(limit?: number): TraceSummary[];
  summary(traceId: string): TraceSummary | null;
  spans(traceId: string): unknown[] | null;
  onChange(fn: (traceIds: string[]) => void): () => boolean;
  clear(): void;
  stats(): { traces: number; spans: number; bytes: number; evictedTraces: number; maxTraces: number; maxSpans: number; maxSpansPerTrace: number; maxBytes: number };
}

export interface CollectorStats {
  receiver: { requests: number; exports: number; acceptedSpans: number; rejectedSpans: number; errors: Record<string, number> };
  store: ReturnType<TraceStore['stats']>;
  jsonl: { path: string; lines: number; dropped: number; error: string | null } | null;
  sseClients: number;
}

export interface RunningCollector {
  /** Base URL, e.g. http://127.0.0.1:4318 */
  url: string;
  /** The OTLP/HTTP traces endpoint: `${url}/v1/traces`. */
  tracesUrl: string;
  /** The viewer: `${url}/`. */
  viewerUrl: string;
  /** The viewer's JSON API: `${url}/api` (GET /traces, GET /traces/:id, GET /events, GET /stats, DELETE /traces). */
  apiUrl: string;
  port: number;
  store: TraceStore;
  stats(): CollectorStats;
  close(): Promise<void>;
}

/** Starts the collector and the viewer on one port; resolves once listening. */
export function startCollector(options?: CollectorOptions): Promise<RunningCollector>;
export function createTraceStore(limits?: { maxTraces?: number; maxSpans?: number; maxSpansPerTrace?: number; maxBytes?: number }): TraceStore;
export function analyzeTrace(spans: unknown[]): ApiTrace | null;
