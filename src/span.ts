// The Span: a handle into the Wasm span pool plus the ids the host needs for
// propagation. Each method contains its own failures.
import type { Attributes, AttributeValue, Link, Span, SpanContext, SpanStatus, TimeInput } from './types.js';
import type { Core } from './core.js';
import { setAttr } from './attributes.js';
import { isTime, toRelativeMs } from './clock.js';
import { internalError, safeString } from './diag.js';
import { SPAN_ID, TRACE_ID, hexWords, wordHex } from './ids.js';
import { NESTED } from './wasm.js';
import { KNOWN_FLAGS, parseTracestate } from './propagation.js';

/** Tracer state a span needs after it starts. */
export interface SpanHost {
  readonly core: Core;
  /** Called once per span that ends while recording, with what `end` returned (OK or HELD). */
  ended(result: number): void;
}

/** The low 30 bits of an id word. */
const LOW = 0x3fffffff;

export class WasmSpan implements Span {
  /** Handle in the Wasm pool; < 0 when not recording. */
  _h: number;
  _host: SpanHost | null;
  // Trace id and span id as 32-bit words (wire bytes, little-endian loads),
  // read through the getters below: each word's low 30 bits, and the six
  // words' top two bits in _hi. In Chromium (pointer compression) a field
  // holds a small integer of 31 bits; whole words were heap numbers half the
  // time, boxed on every span (docs/performance.md).
  _w0: number;
  _w1: number;
  _w2: number;
  _w3: number;
  _w4: number;
  _w5: number;
  _hi: number;
  /** W3C trace flags, plus 0x100 for a remote context. */
  _f: number;
  _ts: string | undefined;
  /** W3C baggage in header form ('' for none): what inject sends with this span. */
  _bg: string;
  _ctx: SpanContext | undefined;

  constructor(h: number, host: SpanHost | null, ids: ArrayLike<number>, flags: number, traceState: string | undefined, baggage: string) {
    this._h = h;
    this._host = host;
    const w0 = ids[0] as number;
    const w1 = ids[1] as number;
    const w2 = ids[2] as number;
    const w3 = ids[3] as number;
    const w4 = ids[4] as number;
    const w5 = ids[5] as number;
    this._w0 = w0 & LOW;
    this._w1 = w1 & LOW;
    this._w2 = w2 & LOW;
    this._w3 = w3 & LOW;
    this._w4 = w4 & LOW;
    this._w5 = w5 & LOW;
    this._hi = (w0 >>> 30) | ((w1 >>> 30) << 2) | ((w2 >>> 30) << 4) | ((w3 >>> 30) << 6) | ((w4 >>> 30) << 8) | ((w5 >>> 30) << 10);
    this._f = flags;
    this._ts = traceState;
    this._bg = baggage;
    this._ctx = undefined;
  }

  get _t0(): number {
    return this._w0 | (this._hi << 30);
  }

  get _t1(): number {
    return this._w1 | ((this._hi >>> 2) << 30);
  }

  get _t2(): number {
    return this._w2 | ((this._hi >>> 4) << 30);
  }

  get _t3(): number {
    return this._w3 | ((this._hi >>> 6) << 30);
  }

  get _s0(): number {
    return this._w4 | ((this._hi >>> 8) << 30);
  }

  get _s1(): number {
    return this._w5 | ((this._hi >>> 10) << 30);
  }

  spanContext(): SpanContext {
    let ctx = this._ctx;
    if (!ctx) {
      ctx = {
        traceId: wordHex(this._t0) + wordHex(this._t1) + wordHex(this._t2) + wordHex(this._t3),
        spanId: wordHex(this._s0) + wordHex(this._s1),
        traceFlags: this._f & 0xff,
        isRemote: (this._f & 0x100) !== 0,
      };
      if (this._ts) ctx.traceState = this._ts;
      this._ctx = ctx;
    }
    return ctx;
  }

  setAttribute(key: string, value: AttributeValue): this {
    const host = this._host;
    if (host && this._h > 0) {
      try {
        setAttr(host.core, this._h, key, value, 0);
      } catch (e) {
        internalError(e);
      }
    }
    return this;
  }

  setAttributes(attributes: Attributes): this {
    const host = this._host;
    if (host && this._h > 0 && attributes && typeof attributes === 'object') {
      try {
        for (const key in attributes) setAttr(host.core, this._h, key, attributes[key], 0);
      } catch (e) {
        internalError(e);
      }
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    const host = this._host;
    if (host && this._h > 0) {
      try {
        const timed = isTime(attributesOrTime);
        const attrs = timed ? undefined : (attributesOrTime as Attributes | undefined);
        addEvent(host.core, this._h, name, attrs, toRelativeMs(timed ? attributesOrTime : time));
      } catch (e) {
        internalError(e);
      }
    }
    return this;
  }

  addLink(link: Link): this {
    const host = this._host;
    if (host && this._h > 0) {
      try {
        addLink(host.core, this._h, link);
      } catch (e) {
        internalError(e);
      }
    }
    return this;
  }

  addLinks(links: Link[]): this {
    try {
      if (Array.isArray(links)) for (const link of links) this.addLink(link);
    } catch (e) {
      internalError(e);
    }
    return this;
  }

  setStatus(status: SpanStatus): this {
    const host = this._host;
    if (host && this._h > 0 && status && typeof status === 'object') {
      try {
        const message = status.code === 2 && typeof status.message === 'string' ? status.message : '';
        host.core.x.status(this._h, Number(status.code) | 0, message ? host.core.str(message) : 0);
      } catch (e) {
        internalError(e);
      }
    }
    return this;
  }

  updateName(name: string): this {
    const host = this._host;
    if (host && this._h > 0 && typeof name === 'string') {
      try {
        const id = host.core.id(name);
        host.core.x.rename(this._h, id, id < 0 ? host.core.str(name) : 0);
      } catch (e) {
        internalError(e);
      }
    }
    return this;
  }

  end(endTime?: TimeInput): void {
    const host = this._host;
    if (host && this._h > 0) {
      try {
        // Marked ended only once Wasm has it: a handler the browser ends in
        // between (Firefox, closing a tab) leaves the span open, and the
        // unload hooks run again end it. A second end() does nothing (nor
        // would Wasm's: the handle is no longer live).
        const r = host.core.x.end(this._h, toRelativeMs(endTime));
        this._h = -1;
        if (r > 0) host.ended(r);
      } catch (e) {
        internalError(e);
      }
    }
  }

  isRecording(): boolean {
    return this._host !== null && this._h > 0;
  }

  recordException(exception: unknown, time?: TimeInput, attributes?: Attributes): void {
    const host = this._host;
    if (host && this._h > 0) {
      try {
        addEvent(host.core, this._h, 'exception', { ...exceptionAttributes(exception), ...attributes }, toRelativeMs(time));
        host.core.x.flagError(this._h); // tail sampling keeps traces with exceptions
      } catch (e) {
        internalError(e);
      }
    }
  }
}

function addEvent(core: Core, h: number, name: unknown, attrs: Attributes | undefined, timeMs: number): void {
  const text = typeof name === 'string' ? name : String(name);
  const id = core.id(text);
  if (core.x.event(h, id, timeMs, id < 0 ? core.str(text) : 0) !== 1) return;
  if (attrs && typeof attrs === 'object') for (const key in attrs) setAttr(core, h, key, attrs[key], NESTED);
}

function addLink(core: Core, h: number, link: Link): void {
  const ctx = link?.context;
  if (!ctx || !TRACE_ID.test(ctx.traceId) || !SPAN_ID.test(ctx.spanId)) return;
  const w: number[] = [];
  hexWords(ctx.traceId, w);
  hexWords(ctx.spanId, w);
  const ts = parseTracestate(ctx.traceState) ?? '';
  // The flags byte: the W3C flags we know, and bit 7 for a remote context (OTLP Link.flags bit 9).
  const flags = (Number(ctx.traceFlags) & KNOWN_FLAGS) | (ctx.isRemote === true ? 0x80 : 0);
  const r = core.x.link(h, w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, flags, ts ? core.str(ts) : 0);
  if (r === 1 && link.attributes) for (const key in link.attributes) setAttr(core, h, key, link.attributes[key], NESTED);
}

/** exception.type, exception.message, exception.stacktrace (semantic conventions). */
function exceptionAttributes(exception: unknown): Attributes {
  if (typeof exception === 'string') return { 'exception.message': exception };
  const attrs: Attributes = {};
  if (exception && typeof exception === 'object') {
    const e = exception as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown };
    // A string code names the error (Node's 'ECONNREFUSED'); a number (a DOMException's legacy code) does not.
    const type = typeof e.code === 'string' && e.code ? e.code : e.name;
    if (typeof type === 'string' && type) attrs['exception.type'] = type;
    if (typeof e.message === 'string') attrs['exception.message'] = e.message;
    if (typeof e.stack === 'string') attrs['exception.stacktrace'] = e.stack;
  }
  if (!attrs['exception.type'] && !attrs['exception.message']) {
    // Neither: what was thrown, as the semantic conventions need one of the two.
    attrs['exception.type'] = exception === null ? 'null' : typeof exception === 'object' ? 'object' : typeof exception;
    attrs['exception.message'] = safeString(exception);
  }
  return attrs;
}
