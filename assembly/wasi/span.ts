// A span as the program sees it: the OpenTelemetry JS API's names over a
// core handle. A span that is not recorded (sampled out with nothing for
// tail sampling to keep, or no slot free) still has ids, so its children
// stay in its trace.
import { IDS, NESTED, OK, end, event, flagError, link, rename, status } from "../core/span";
import { IO } from "../core/layout";
import { internId, setAttr, toIO } from "./values";
import { nowMs, toRelativeMs } from "./clock";
import { toHex, unhex, utf8 } from "./text";
import { afterEnd } from "./flush";
import { checkTracestate, popActive, ROOT, rootLen, STATE, stateLen } from "./context";

/** OpenTelemetry span kinds, numbered as in the JS API. */
export enum SpanKind { INTERNAL = 0, SERVER = 1, CLIENT = 2, PRODUCER = 3, CONSUMER = 4 }

// What a span's `_state` says its trace's tracestate is.
export const NONE: u8 = 0;
export const REMOTE_STATE: u8 = 1;
export const ROOT_STATE: u8 = 2;

/** OpenTelemetry status codes. */
export enum StatusCode { UNSET = 0, OK = 1, ERROR = 2 }

/**
 * Ids, flags and tracestate of a span, as W3C Trace Context carries them
 * (lowercase hex ids), and whether it came from another process.
 */
export class SpanContext {
  constructor(
    public traceId: string, public spanId: string, public traceFlags: i32,
    public traceState: string = "", public isRemote: bool = false,
  ) {}
}

// What attributes set with NESTED go to: the event or link added last, if it was recorded.
const EVENT: u8 = 1;
const LINK: u8 = 2;

export class Span {
  /** Core handle; < 0 when the span is not recorded. */
  _h: i32 = -1;
  // Trace id (16 bytes) and span id (8 bytes) as i32 words in wire order.
  _t0: i32 = 0;
  _t1: i32 = 0;
  _t2: i32 = 0;
  _t3: i32 = 0;
  _s0: i32 = 0;
  _s1: i32 = 0;
  _flags: i32 = 0;
  /** Its trace's tracestate: NONE, the caller's (REMOTE_STATE) or this program's threshold (ROOT_STATE). */
  _state: u8 = NONE;
  _ended: bool = false;
  /** The span that was active before this one, when this one is active. */
  _prev: Span | null = null;
  _active: bool = false;
  /** EVENT or LINK: the kind of the item added last, when it was recorded (0: none). */
  _nested: u8 = 0;

  /** Takes the ids the core's `start` just wrote. */
  _read(h: i32): void {
    this._h = h;
    this._t0 = load<i32>(IDS);
    this._t1 = load<i32>(IDS, 4);
    this._t2 = load<i32>(IDS, 8);
    this._t3 = load<i32>(IDS, 12);
    this._s0 = load<i32>(IDS, 16);
    this._s1 = load<i32>(IDS, 20);
    this._flags = load<u8>(IDS, 24);
  }

  /** True while the span is recorded and not ended. */
  isRecording(): bool {
    return this._h > 0 && !this._ended;
  }

  /** Sets an attribute: a string, bool, integer, float, or an array of one of these. */
  setAttribute<T>(key: string, value: T): Span {
    if (this.isRecording()) setAttr<T>(this._h, key, 0, value);
    return this;
  }

  /** Adds an event at `timeMs` (read as `end` reads its time; NaN: now). */
  addEvent(name: string, timeMs: f64 = NaN): Span {
    if (this.isRecording()) {
      const id = internId(name);
      const at = isNaN(timeMs) ? nowMs() : toRelativeMs(timeMs);
      const r = id >= 0 ? event(this._h, id, at, 0) : event(this._h, -1, at, toIO(name));
      this._nested = r == OK ? EVENT : 0;
    }
    return this;
  }

  /** Sets an attribute on the event added last, when that was the last event or link added. */
  setEventAttribute<T>(key: string, value: T): Span {
    if (this.isRecording() && this._nested == EVENT) setAttr<T>(this._h, key, NESTED, value);
    return this;
  }

  /**
   * Links this span to `context`, as JS's addLink does: a context whose ids
   * are not lowercase hex of the right length, or all zeros, is dropped (not
   * counted); its flags keep the sampled and random bits, and its tracestate
   * is checked as TRACESTATE is. Past the link limit it is dropped and counted.
   */
  addLink(context: SpanContext): Span {
    if (this.isRecording()) this._nested = linkTo(this._h, context) ? LINK : 0;
    return this;
  }

  addLinks(contexts: SpanContext[]): Span {
    for (let i = 0; i < contexts.length; i++) this.addLink(unchecked(contexts[i]));
    return this;
  }

  /** Sets an attribute on the link added last, when that was the last event or link added. */
  setLinkAttribute<T>(key: string, value: T): Span {
    if (this.isRecording() && this._nested == LINK) setAttr<T>(this._h, key, NESTED, value);
    return this;
  }

  /**
   * Records an `exception` event (semantic conventions) and marks the trace
   * failed for tail sampling, as JS does; the status is the caller's to set.
   */
  recordException(message: string, type: string = ""): Span {
    if (this.isRecording()) flagError(this._h);
    this.addEvent("exception");
    this.setEventAttribute("exception.message", message);
    if (type.length) this.setEventAttribute("exception.type", type);
    return this;
  }

  /** Sets the status; a message goes with ERROR only, and OK is final. */
  setStatus(code: StatusCode, message: string = ""): Span {
    if (this.isRecording()) {
      status(this._h, code, code == StatusCode.ERROR ? toIO(message) : 0);
    }
    return this;
  }

  updateName(name: string): Span {
    if (this.isRecording()) {
      const id = internId(name);
      rename(this._h, id, id >= 0 ? 0 : toIO(name));
    }
    return this;
  }

  /**
   * Ends the span at `endMs`: ms since the time origin (`nowMs()`), or unix
   * ms from 10^12 on, as JS reads a number; NaN and infinities: now; before
   * its start: its start. Later calls do nothing.
   */
  end(endMs: f64 = NaN): void {
    if (this._ended) return;
    this._ended = true;
    if (this._active) popActive(this);
    if (this._h > 0) {
      const now = nowMs();
      end(this._h, isNaN(endMs) ? now : toRelativeMs(endMs));
      afterEnd(now);
    }
  }

  spanContext(): SpanContext {
    const ids = this._ids();
    return new SpanContext(toHex(ids, 16), toHex(ids + 16, 8), this._flags & 0xff, this.tracestate());
  }

  /**
   * The W3C `traceparent` header value that makes this span the parent (all 8
   * bits of its flags, as JS writes them); "" when its ids are zeros (a span of
   * a disabled SDK), which no receiver takes, as JS's formatTraceparent.
   */
  traceparent(): string {
    if (!(this._t0 | this._t1 | this._t2 | this._t3) || !(this._s0 | this._s1)) return "";
    const ids = this._ids();
    store<u8>(ids, <u8>this._flags, 24);
    return "00-" + toHex(ids, 16) + "-" + toHex(ids + 16, 8) + "-" + toHex(ids + 24, 1);
  }

  /**
   * The W3C `tracestate` header value to hand on with `traceparent()`: the
   * caller's TRACESTATE when the span is in its trace, `ot=th:…` when the
   * span is in a trace this program started and its ratio kept (as JS), else "".
   */
  tracestate(): string {
    const state = this._state;
    return state == REMOTE_STATE ? String.UTF8.decodeUnsafe(STATE, stateLen) : state == ROOT_STATE ? String.UTF8.decodeUnsafe(ROOT, rootLen) : "";
  }

  _ids(): usize {
    store<i32>(SCRATCH, this._t0);
    store<i32>(SCRATCH, this._t1, 4);
    store<i32>(SCRATCH, this._t2, 8);
    store<i32>(SCRATCH, this._t3, 12);
    store<i32>(SCRATCH, this._s0, 16);
    store<i32>(SCRATCH, this._s1, 20);
    return SCRATCH;
  }
}

const SCRATCH: usize = memory.data(25);
/** A link's ids as hex (48 characters), then as bytes (24). */
const LINK_IDS: usize = memory.data(72);

/** Adds the link to `context` (its tracestate written into IO) to span `h`; true when it was recorded. */
function linkTo(h: i32, context: SpanContext): bool {
  const hex = LINK_IDS;
  const ids = LINK_IDS + 48;
  if (context.traceId.length != 32 || context.spanId.length != 16) return false;
  if (utf8(context.traceId, hex, 32) != 32 || utf8(context.spanId, hex + 32, 16) != 16 || !unhex(hex, 24, ids)) return false;
  // The W3C flags JS knows (sampled, random), and bit 7 for a remote context (OTLP Link.flags bit 9).
  const flags = (context.traceFlags & 3) | (context.isRemote ? 0x80 : 0);
  const len = checkTracestate(context.traceState, IO);
  return link(h, load<i32>(ids), load<i32>(ids, 4), load<i32>(ids, 8), load<i32>(ids, 12),
    load<i32>(ids, 16), load<i32>(ids, 20), flags, len) == OK;
}
