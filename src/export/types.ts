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
   * and removes them from the buffer. Returns null when no span has ended.
   * A span larger than `maxBytes` comes back alone in a larger body.
   */
  drain(maxBytes: number): Encoded | null;
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
 * benchmarks and unusual hosts may pass their own.
 */
export type Transport = (
  body: Uint8Array,
  meta: { readonly contentType: string; readonly spans: number },
) => Promise<{ readonly status: number; readonly headers?: { get(name: string): string | null }; readonly text?: () => Promise<string> }>;
