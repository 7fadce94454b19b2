// What every browser instrumentation receives, and the options that turn them on and off.
import type { InitOptions } from '../init.js';
import type { Span } from '../types.js';
import type { Tracer } from '../tracer.js';
import type { RedactQuery } from '../url.js';

/** Each instrumentation is on unless set to `false`. */
export interface InstrumentationOptions {
  /** A `documentLoad` span from Navigation Timing, with a `documentFetch` child. */
  documentLoad?: boolean;
  /** A `resourceFetch` span per Resource Timing entry (images, scripts, styles, …). */
  resources?: boolean;
  /** Client spans for `fetch`, with traceparent for same-origin and `propagateTo` URLs. */
  fetch?: boolean;
  /** Client spans for `XMLHttpRequest`, propagated like fetch. */
  xhr?: boolean;
  /** Spans for user events (default `click`, `submit`) that parent the requests they start. */
  interactions?: boolean | { events?: string[] };
  /** `navigation` spans for history.pushState/replaceState/popstate. */
  navigation?: boolean;
  /** Errors and unhandled rejections as `exception` events. */
  errors?: boolean;
  /** LCP, INP, CLS, FCP, TTFB (the `web-vitals` package) as spans with their attribution. */
  webVitals?: boolean;
  /** `long-animation-frame` (or `longtask`) entries as spans, where the browser has them. */
  longTasks?: boolean;
  /** A `session.id` resource attribute kept in localStorage, read per batch; idle (no batch sent) and total lifetime in ms. */
  session?: boolean | { idleMs?: number; maxMs?: number };
}

export interface BrowserInitOptions extends InitOptions {
  instrumentations?: InstrumentationOptions;
  /** Query (and fragment) keys whose values every URL sent is written with as `REDACTED`, `true` for all; the signature keys always. */
  redactQuery?: RedactQuery;
}

/** A span and the window of performance time later entries may fall under: end Infinity while open (or not yet known). */
export type Period = [span: Span, start: number, end: number];

/** Shared state the instrumentations build on. */
export interface BrowserContext {
  readonly tracer: Tracer;
  /** True for URLs that are the exporter's own (never traced). */
  ignore(url: string): boolean;
  /** The `redactQuery` option, for every URL sent (url.ts). */
  readonly redact: RedactQuery;
  /** True where traceparent may be sent: same origin, or a `propagateTo` match. */
  propagate(url: URL): boolean;
  /** The page view: documentLoad once started, then each back/forward-cache restore's (parent of the resources and vitals in its window). */
  page: Period | undefined;
  /** Interaction and navigation spans, newest last, a few kept (util.ts: opened): later resources go under the one open at their start. */
  readonly recent: Period[];
  /** Run at `pagehide`, before delivery takes the last spans. */
  readonly onUnload: Array<() => void>;
  /** Run at a back/forward-cache restore (`pageshow` with `persisted`) with its time, before web-vitals hears of it. */
  readonly onRestore: Array<(at: number) => void>;
}
