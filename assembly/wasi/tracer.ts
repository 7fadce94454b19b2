// `init` reads the WASI environment and returns the tracer; `shutdown`
// flushes at exit and reports on stderr what could not be delivered.
import { IO } from "../core/layout";
import { initPool, R_STATE } from "../core/pool";
import { seedFrom } from "../core/ids";
import { setLimits, setOrigin, setRatio, threshold, droppedData, droppedOversize, droppedSpans } from "../core/config";
import { RESOURCE, setString, start } from "../core/span";
import { SCOPE_VERSION } from "../core/scope";
import { setTail, settle } from "../core/hold";
import { NONE, REMOTE_STATE, ROOT_STATE, Span, SpanContext, SpanKind } from "./span";
import {
  currentSpan, extract, hasRemote, pushActive, REMOTE, remoteFlags, ROOT, rootLen, setRemoteParent, setRootState, STATE, STATE_SIZE, stateLen, tailStateLen,
} from "./context";
import { endpointFromEnv, flagFromEnv, headerLines, limitFromEnv, msFromEnv, parseHttpUrl, parsePairs, ratioFromEnv, timeoutFromEnv } from "./config";
import { getenv, getenvEnum } from "./env";
import { parseBaggage } from "./baggage";
import { Exporter, lossReport, lostSpans, otlpLines, refusedSpans, settings, warn } from "./exporter";
import { flush, setExporter } from "./flush";
import { nowMs, startClock, toRelativeMs } from "./clock";
import { internId, MAX_VALUE_LENGTH, setAttr, setValueLimit } from "./values";
import { random_get } from "./sys";

/** Options a program passes to `init`; the OTEL_* variables override them. */
export class Options {
  /** service.name; OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) wins. */
  serviceName: string = "unknown_service";
  /** Where otlpHttp posts; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT win. */
  endpoint: string = "http://localhost:4318/v1/traces";
  /** How ended spans leave: `otlpLines` (any WASI runtime) or `otlpHttp` (WasmEdge sockets). */
  exporter: Exporter = otlpLines;
  /** otlpLines: a file path under a preopened directory; "" for stdout. WASMTRACE_OUTPUT wins. */
  output: string = "";
  /** Share of new traces kept, 0..1; OTEL_TRACES_SAMPLER_ARG wins. */
  ratio: f64 = 1;
  /** Keep every trace with an ERROR status or an exception, whatever the ratio (tail sampling); WASMTRACE_KEEP_ERRORS wins. */
  keepErrors: bool = true;
  /** Keep every trace whose local root lasts longer (ms, up to an hour); 0: off. WASMTRACE_SLOW_MS wins. */
  slowMs: i32 = 0;
  /** Longest a trace's spans wait for its decision (ms, 1 to an hour); WASMTRACE_MAX_HOLD_MS wins. */
  maxHoldMs: i32 = 30_000;
  /** Ended spans per export. */
  batchSize: i32 = 512;
  /** Tries per batch when the collector is unreachable or busy (429/502/503/504). */
  attempts: i32 = 5;
  /** Wait before the second try, doubled for each further one. */
  backoffMs: i32 = 100;
  /**
   * Longest wait of each connect, send and receive of an export (a collector
   * that accepts and never answers must not hang the program); 0: no limit.
   * OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / OTEL_EXPORTER_OTLP_TIMEOUT win.
   */
  timeoutMs: i32 = 10_000;
}

/** What `startSpan` takes besides the kind and parent, named as in JS's SpanOptions: `{ startTime: t } as SpanOptions`. */
export class SpanOptions {
  /**
   * Links known at the start (give them here rather than with `addLink`
   * later: a sampler sees only what is there at the start). For a link with
   * attributes, `span.addLink(context).setLinkAttribute(...)`.
   */
  links: SpanContext[] = [];
  /** The start, read as `span.end()` reads its time: ms since the time origin, or unix ms from 10^12 on; NaN: now. */
  startTime: f64 = NaN;
}

export class Tracer {
  /** Starts a span under `parent`, else the active span, else TRACEPARENT's span. */
  startSpan(name: string, kind: SpanKind = SpanKind.INTERNAL, parent: Span | null = null, options: SpanOptions | null = null): Span {
    if (disabled) return new Span(); // not recorded, ids all zeros (the invalid context), as JS's no-op span
    const p = parent !== null ? parent : currentSpan();
    const nameId = internId(name);
    const at = options !== null && !isNaN(options.startTime) ? toRelativeMs(options.startTime) : nowMs();
    let h: i32;
    const span = new Span();
    let state = ROOT_STATE;
    if (p !== null) {
      h = start(nameId, kind, p._flags & 0xff, p._t0, p._t1, p._t2, p._t3, p._s0, p._s1, at);
      state = p._state;
    } else if (hasRemote) {
      h = start(nameId, kind, remoteFlags,
        load<i32>(REMOTE), load<i32>(REMOTE, 4), load<i32>(REMOTE, 8), load<i32>(REMOTE, 12),
        load<i32>(REMOTE, 16), load<i32>(REMOTE, 20), at);
      state = REMOTE_STATE;
    } else {
      h = start(nameId, kind, 0, 0, 0, 0, 0, 0, 0, at);
    }
    span._read(h);
    // A trace of this program's own carries the threshold when the ratio kept it.
    span._state = state == ROOT_STATE && !((span._flags & 1) && rootLen) ? NONE : state;
    if (h > 0) {
      if (nameId < 0) span.updateName(name);
      let len = 0;
      // A span the caller did not sample is exported only when tail sampling keeps it: with no known probability.
      if (span._state == REMOTE_STATE) {
        if (span._flags & 1) memory.copy(IO, STATE, len = stateLen);
        else memory.copy(IO, STATE + <usize>STATE_SIZE, len = tailStateLen);
      } else if (span._state == ROOT_STATE) memory.copy(IO, ROOT, len = rootLen);
      if (len) setString(h, R_STATE, len);
      if (options !== null) span.addLinks(options.links);
    }
    return span;
  }

  /** Starts a span and makes it the active one until it ends. */
  startActiveSpan(name: string, kind: SpanKind = SpanKind.INTERNAL, options: SpanOptions | null = null): Span {
    const span = this.startSpan(name, kind, null, options);
    pushActive(span);
    return span;
  }

  /** The active span, or null. */
  activeSpan(): Span | null {
    return currentSpan();
  }

  /**
   * The caller's W3C baggage (BAGGAGE), to pass on as the `baggage` header of
   * a request or the BAGGAGE of a child process: malformed members dropped,
   * OWS removed, within 180 members and 8192 bytes, as the JS SDK reads a
   * received header; "" when nothing is left.
   */
  baggage(): string {
    return callerBaggage;
  }

  /**
   * The span context a W3C `traceparent` and `tracestate` carry (a message's,
   * a request's), to link to (`addLink`, `SpanOptions.links`): what JS's
   * `tracer.extract` returns for those headers, checked as TRACEPARENT and
   * TRACESTATE are, `isRemote` true; null when the traceparent is invalid.
   */
  extract(traceparent: string, tracestate: string = ""): SpanContext | null {
    return extract(traceparent, tracestate);
  }

  /** Exports every ended span now. */
  flush(): void {
    flush();
  }
}

let tracer: Tracer | null = null;
let callerBaggage = "";
/** OTEL_SDK_DISABLED=true: spans record nothing and nothing is sent or opened. */
let disabled = false;

/**
 * Sets up tracing from `options` and the WASI environment: clocks, entropy,
 * resource, sampler, exporter, and the caller's TRACEPARENT. Call once;
 * later calls return the same tracer.
 */
export function init(options: Options = new Options()): Tracer {
  const existing = tracer;
  if (existing !== null) return existing;
  const t = new Tracer();
  tracer = t;
  // Only "true", in any case, disables, as in JS (src/env.ts sdkDisabled).
  disabled = getenvEnum("OTEL_SDK_DISABLED") == "true";
  if (disabled) return t;
  initPool();
  setOrigin(startClock());
  random_get(IO, 32);
  seedFrom(IO);
  setRatio(ratioFromEnv(options.ratio));
  setRootState(threshold);
  // Tail sampling, as in JS (src/sampler.ts configureTail): with a ratio of 1 nothing is held.
  setTail(flagFromEnv("WASMTRACE_KEEP_ERRORS", options.keepErrors), msFromEnv("WASMTRACE_SLOW_MS", options.slowMs, 0),
    msFromEnv("WASMTRACE_MAX_HOLD_MS", options.maxHoldMs, 1), threshold == 0);
  // Span limits from the OpenTelemetry variables, as in JS (src/limits.ts).
  const general = limitFromEnv("ATTRIBUTE_COUNT", 128);
  setLimits(limitFromEnv("SPAN_ATTRIBUTE_COUNT", general), limitFromEnv("SPAN_EVENT_COUNT", 128), limitFromEnv("SPAN_LINK_COUNT", 128),
    min(limitFromEnv("EVENT_ATTRIBUTE_COUNT", general), limitFromEnv("LINK_ATTRIBUTE_COUNT", general)));
  setValueLimit(limitFromEnv("SPAN_ATTRIBUTE_VALUE_LENGTH", limitFromEnv("ATTRIBUTE_VALUE_LENGTH", 4096, 1, MAX_VALUE_LENGTH), 1, MAX_VALUE_LENGTH));

  const s = settings;
  s.endpoint = endpointFromEnv(options.endpoint);
  s.url = parseHttpUrl(s.endpoint);
  s.endpoint = s.url.shown; // without user info: warnings and the loss line show it
  // The signal's own variable, when set, wins over the general one.
  let protocol = getenvEnum("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
  if (!protocol.length) protocol = getenvEnum("OTEL_EXPORTER_OTLP_PROTOCOL");
  s.json = protocol == "http/json";
  s.headerLines = headerLines(getenv("OTEL_EXPORTER_OTLP_HEADERS"), getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS"));
  const output = getenv("WASMTRACE_OUTPUT").trim();
  s.output = output.length ? output : options.output;
  s.attempts = options.attempts < 1 ? 1 : options.attempts > 20 ? 20 : options.attempts;
  s.backoffMs = options.backoffMs < 0 ? 0 : options.backoffMs;
  const timeoutMs = timeoutFromEnv(options.timeoutMs);
  s.timeoutMs = timeoutMs < 0 ? 0 : timeoutMs;
  setExporter(options.exporter, options.batchSize);
  options.exporter(true); // before any attribute: it picks the wire format

  let serviceName = options.serviceName;
  const resource = parsePairs(getenv("OTEL_RESOURCE_ATTRIBUTES"), "OTEL_RESOURCE_ATTRIBUTES");
  const envName = getenv("OTEL_SERVICE_NAME").trim();
  for (let i = 0; i < resource.length; i++) {
    const kv = unchecked(resource[i]);
    if (kv.key == "service.name") serviceName = kv.value;
    else setAttr<string>(RESOURCE, kv.key, 0, kv.value);
  }
  if (envName.length) serviceName = envName;
  setAttr<string>(RESOURCE, "service.name", 0, serviceName);
  setAttr<string>(RESOURCE, "telemetry.sdk.name", 0, "wasmtrace");
  // Required by semconv; no registry value fits, and a custom one is allowed.
  setAttr<string>(RESOURCE, "telemetry.sdk.language", 0, "assemblyscript");
  setAttr<string>(RESOURCE, "telemetry.sdk.version", 0, SCOPE_VERSION);

  const tp = getenv("TRACEPARENT").trim();
  if (tp.length && !setRemoteParent(tp, getenv("TRACESTATE").trim())) {
    warn("ignoring a malformed TRACEPARENT");
  }
  callerBaggage = parseBaggage(getenv("BAGGAGE").trim());
  return t;
}


/**
 * Decides every trace tail sampling holds, exports what is left and reports
 * losses on stderr. Call before the program exits (WASI has no exit hook).
 * Returns the number of spans lost.
 */
export function shutdown(): i32 {
  if (tracer === null || disabled) return 0;
  settle(nowMs(), true);
  flush();
  const dropped = droppedSpans + droppedOversize;
  const report = lossReport(dropped);
  if (report.length) warn(report);
  if (droppedData) warn("wasmtrace: " + droppedData.toString() + " attributes/events dropped for lack of buffer space");
  return lostSpans + refusedSpans + dropped;
}
