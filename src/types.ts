// Public types, shaped like the OpenTelemetry JS API so that users feel at home.

/** A value, or an array of one type; null or undefined elements are kept as empty values (as OpenTelemetry's type admits). */
export type AttributeValue =
  | string
  | number
  | boolean
  | ReadonlyArray<string | null | undefined>
  | ReadonlyArray<number | null | undefined>
  | ReadonlyArray<boolean | null | undefined>;

export type Attributes = Record<string, AttributeValue | undefined>;

/**
 * A Date, an HrTime `[unix seconds, nanoseconds]`, or a number: a
 * `performance.now()` value (ms since the time origin) when below both the
 * origin and 1e12, negatives included; else unix milliseconds.
 */
export type TimeInput = Date | number | [number, number];

/** The OpenTelemetry JS API's SpanKind values. */
export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** The OpenTelemetry JS API's SpanStatusCode values. */
export const SpanStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type SpanStatusCode = (typeof SpanStatusCode)[keyof typeof SpanStatusCode];

export interface SpanStatus {
  code: SpanStatusCode;
  message?: string;
}

/** A span's identity (W3C Trace Context). */
export interface SpanContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** W3C trace flags; bit 0 is "sampled". */
  traceFlags: number;
  traceState?: string;
  /** True when the context came from another process (extracted from headers). */
  isRemote?: boolean;
}

/**
 * A span's identity as given to wasmtrace (a parent, a link, inject): also
 * OpenTelemetry's, whose traceState is a TraceState object, read by its
 * serialize(). What spanContext() returns has the header string.
 */
export interface SpanContextInput extends Omit<SpanContext, 'traceState'> {
  traceState?: string | { serialize(): string } | undefined;
}

export interface Link {
  context: SpanContextInput;
  attributes?: Attributes;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Start time; default now. */
  startTime?: TimeInput;
  /** Start a new trace even if a span is active. */
  root?: boolean;
}

export interface Span {
  spanContext(): SpanContext;
  setAttribute(key: string, value: AttributeValue): this;
  setAttributes(attributes: Attributes): this;
  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this;
  addLink(link: Link): this;
  addLinks(links: Link[]): this;
  setStatus(status: SpanStatus): this;
  updateName(name: string): this;
  /** Ends the span; a second call does nothing. */
  end(endTime?: TimeInput): void;
  isRecording(): boolean;
  /** Records an `exception` event (OpenTelemetry exception semantic conventions); `attributes` are added to it, over those derived. */
  recordException(exception: unknown, time?: TimeInput, attributes?: Attributes): void;
}

/**
 * Where a new span's parent comes from: a span, a remote context, an
 * OpenTelemetry `Context` (the span it holds; none: a new trace), or null for
 * a new trace.
 */
export type ParentInput = Span | SpanContextInput | OtelContext | null | undefined;

/** What wasmtrace reads of an OpenTelemetry `Context` (from `@opentelemetry/api`): its span, under the API's own key. */
export interface OtelContext {
  getValue(key: symbol): unknown;
}

/** Counters of what was sent and what was lost, for monitoring the SDK itself. */
export interface TracerStats {
  /** Spans dropped because the span buffer was full. */
  droppedSpans: number;
  /** Attributes, events or links dropped because span memory or the key table was full. */
  droppedData: number;
  /** Spans dropped because alone they exceeded the largest request body. */
  droppedOversize: number;
  /**
   * Spans the collector refused: a status not retried (400, 401, 413, …) or a
   * partial success (a Worker counts a partial success as sent). This and the
   * next two are delivery's counts.
   */
  droppedRejected?: number;
  /** Spans of the oldest batches evicted by the queue bound (`maxQueueBytes`, or the storage quota). */
  droppedQueueFull?: number;
  /**
   * Spans still unsent when shutdown() ended with no storage to keep them
   * (every retry failed or ran out), and those of stored batches found corrupt.
   */
  droppedUnsent?: number;
}
