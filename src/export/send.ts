// The default transport: POST with fetch, keepalive, the response body always
// read (for partial success), bounded, so the keepalive budget and the
// connection are given back. Plus the sendBeacon fallback and the
// partial-success reader.
import type { Transport } from './types.js';

/** Most of a response body read, bytes: OTLP's recommended limit (a partial success is a few dozen). */
const MAX_RESPONSE_BYTES = 4 << 20;

/**
 * A Transport posting to `endpoint` with fetch and the configured headers;
 * `blob`: the body as a Blob, for Node, whose fetch (undici, v20) cannot
 * follow a 307/308 redirect with a byte body (a detached buffer): every
 * export behind such a redirect failed.
 */
export function fetchTransport(endpoint: string, headers: Readonly<Record<string, string>>, blob?: boolean): Transport {
  // Options fetch refuses (an endpoint with credentials) would fail every
  // request like a network error: each call throws instead.
  let refused: unknown;
  try {
    if (typeof Request === 'function') new Request(endpoint, { method: 'POST', headers });
  } catch (e) {
    refused = e;
  }
  // fetch is called before any await: in a pagehide handler the request
  // must be started synchronously.
  return (body, meta) => {
    if (refused) throw refused;
    return fetch(endpoint, {
      method: 'POST',
      body: blob ? new Blob([body as BlobPart]) : (body as BodyInit),
      headers: { ...headers, 'content-type': meta.contentType, ...(meta.contentEncoding && { 'content-encoding': meta.contentEncoding }) },
      keepalive: meta.keepalive === true,
      credentials: 'omit',
      signal: meta.signal,
    }).then(async (res) => ({ status: res.status, headers: res.headers, body: await readBody(res), redirected: res.redirected }));
  };
}

/**
 * How long a body may take after the status line, ms (the WASI library's
 * REST_MS): the status is the outcome, and a collector that holds the body
 * open must not keep the batch in flight to its timeout (then retried: a 2xx
 * sent twice, a 400 retried, a 503's Retry-After lost), holding a request
 * slot and a page's keepalive budget.
 */
const REST_MS = 1000;

/**
 * A response's body, read to its end so the connection (and a page's
 * keepalive budget) is given back; but at most MAX_RESPONSE_BYTES of it
 * (OTLP: a client MUST bound what it reads), and within REST_MS, the rest
 * cancelled. Undefined when empty, cut off or past a bound: no
 * partial-success figure.
 */
export async function readBody(res: Response): Promise<Uint8Array | undefined> {
  const reader = res.body?.getReader();
  let body: Uint8Array | undefined;
  let late = false;
  const timer = setTimeout(() => {
    // Cancelling ends a pending read as the body's end would: `late` tells them apart.
    late = true;
    reader?.cancel().catch(() => {});
  }, REST_MS);
  try {
    const parts: Uint8Array[] = [];
    // No body (a 204 in Node): nothing to read, and no TypeError to catch (see fromProtobuf on exceptions).
    if (reader) {
      for (let n = 0, c; !(c = await reader.read()).done; ) {
        // Past the bound: nothing of it is read (and no throw: see fromProtobuf on exceptions).
        if ((n += c.value.length) > MAX_RESPONSE_BYTES) {
          parts.length = 0;
          break;
        }
        parts.push(c.value);
      }
    }
    if (parts.length && !late) body = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
  } catch {
    // A read that failed (the connection cut off mid-body).
  }
  clearTimeout(timer);
  await reader?.cancel().catch(() => {});
  // Chromium gives a cancelled keepalive request's budget back a task later: the next batch may need it.
  if (late) await new Promise((r) => setTimeout(r, 0));
  return body;
}

/**
 * navigator.sendBeacon, for runtimes without keepalive fetch. It sends cookies
 * and its loss is invisible (docs/platform.md), so it is only a fallback.
 */
export function beacon(endpoint: string, body: Uint8Array, contentType: string): boolean {
  try {
    return navigator.sendBeacon(endpoint, new Blob([body as BlobPart], { type: contentType })) === true;
  } catch {
    // No navigator or no sendBeacon.
    return false;
  }
}

/** Most of a partial success's error_message reported, characters. */
const MAX_MESSAGE = 512;

/** An ExportTracePartialSuccess, as OTLP/JSON writes it. */
interface PartialSuccess {
  rejectedSpans?: unknown;
  errorMessage?: unknown;
}

/**
 * What a response (an ExportTraceServiceResponse, protobuf or OTLP/JSON)
 * says of a partial success: the spans the collector rejected, and its
 * error_message (control characters as spaces, at most MAX_MESSAGE
 * characters). [0, ''] when it says nothing (malformed too). A count that is
 * no count (negative, a fraction, not a number) is -1: the collector took the
 * batch, so it is not retried, but how many spans it kept is unknown.
 */
export function partialSuccess(body: Uint8Array | string | undefined, json: boolean): [number, string] {
  let ps: PartialSuccess | undefined;
  if (typeof body !== 'string' && !json) ps = body && fromProtobuf(body);
  else {
    const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
    // Only an object can be a response: an empty, cut or other answer is
    // not parsed, as JSON.parse would throw (see fromProtobuf on exceptions).
    if (/^\s*\{[^]*\}\s*$/.test(text)) {
      try {
        ps = JSON.parse(text)?.partialSuccess;
      } catch {
        // Malformed: says nothing.
      }
    }
  }
  const n = ps?.rejectedSpans;
  const m = ps?.errorMessage;
  return [
    // int64, in OTLP/JSON a number or a decimal string.
    n == null ? 0 : typeof n != 'object' && /^\d+$/.test(n as string) && +n < 2 ** 63 ? +n : -1,
    typeof m === 'string' ? m.slice(0, MAX_MESSAGE).replace(/[\0-\x1f\x7f]/g, ' ').trim() : '',
  ];
}

/**
 * ExportTraceServiceResponse.partial_success (1): rejected_spans (1, int64),
 * error_message (2). As protobuf reads it: the message's occurrences merge,
 * the last value of each field wins; a field 1 of another wire type is not
 * it (a google.rpc.Status's varint `code` is field 1 too). Undefined when
 * malformed. It never throws: a page's first exception, even a caught one,
 * costs Chromium 1-3 ms of main thread (docs/performance.md).
 */
function fromProtobuf(b: Uint8Array): PartialSuccess | undefined {
  const ps: PartialSuccess = {};
  let p = 0;
  /** The varint at p; -1 when the bytes end inside it or it runs past 10 bytes. */
  const varint = (): number => {
    let v = 0;
    for (let i = 0, mul = 1; i < 10 && p < b.length; i++, mul *= 128) {
      const byte = b[p++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
    }
    return -1;
  };
  /**
   * Each field up to `to`: `each(tag, varint value, end of the value)`, the
   * value's bytes from p. False when a field is malformed (a tag of -1 has
   * wire type -1: malformed too) or an `each` says so.
   */
  const walk = (to: number, each: (tag: number, v: number, end: number) => boolean): boolean => {
    while (p < to) {
      const tag = varint();
      const wire = tag % 8;
      const v = wire === 0 || wire === 2 ? varint() : wire === 1 ? 8 : wire === 5 ? 4 : -1;
      const end = wire === 0 ? p : p + v;
      if (v < 0 || end > to || !each(tag, v, end)) return false;
      p = end;
    }
    return true;
  };
  const read = walk(b.length, (tag, _, end) =>
    tag !== 10 ||
    walk(end, (t, v, e) => {
      // A negative int64 is 2^64 + it as a varint: read as 2^63 or more.
      if (t === 8) ps.rejectedSpans = v;
      else if (t === 18) ps.errorMessage = new TextDecoder().decode(b.subarray(p, Math.min(e, p + 4 * MAX_MESSAGE)));
      return true;
    }),
  );
  return read ? ps : undefined;
}
