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
    }).then(async (res) => ({ status: res.status, headers: res.headers, body: await readBody(res) }));
  };
}

/**
 * A response's body, read to its end so the connection (and a page's
 * keepalive budget) is given back; but at most MAX_RESPONSE_BYTES of it
 * (OTLP: a client MUST bound what it reads), the rest cancelled. Undefined
 * when empty, cut off or past the bound: no partial-success figure.
 */
export async function readBody(res: Response): Promise<Uint8Array | undefined> {
  const reader = res.body?.getReader();
  let body: Uint8Array | undefined;
  try {
    const parts: Uint8Array[] = [];
    for (let n = 0, c; !(c = await reader!.read()).done; ) {
      if ((n += c.value.length) > MAX_RESPONSE_BYTES) throw 0;
      parts.push(c.value);
    }
    if (parts.length) body = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
  } catch {
    // No body, cut off, or past the bound.
  }
  await reader?.cancel().catch(() => {});
  return body;
}

/**
 * navigator.sendBeacon, for runtimes without keepalive fetch. It sends cookies
 * and its loss is invisible (PLATFORM-FACTS.md), so it is only a fallback.
 */
export function beacon(endpoint: string, body: Uint8Array, contentType: string): boolean {
  try {
    return navigator.sendBeacon(endpoint, new Blob([body as BlobPart], { type: contentType })) === true;
  } catch {
    // No navigator or no sendBeacon.
    return false;
  }
}

/**
 * Spans the collector rejected, from an ExportTraceServiceResponse
 * (protobuf or OTLP/JSON); 0 when the body says nothing about it.
 */
export function rejectedSpans(body: Uint8Array | string | undefined, json: boolean): number {
  let n: unknown = 0;
  try {
    if (json || typeof body === 'string') {
      n = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body))?.partialSuccess?.rejectedSpans;
    } else if (body) {
      // ExportTraceServiceResponse.partial_success (1) . rejected_spans (1);
      // a varint field 1 is no partial_success (google.rpc.Status's code).
      const ps = field(body, 0, body.length);
      n = typeof ps === 'object' && field(body, ps[0], ps[1]);
    }
  } catch {
    // Malformed: says nothing.
  }
  n = Number(n);
  return (n as number) > 0 && (n as number) < Infinity ? (n as number) : 0;
}

/** Field 1 between `from` and `to`: its varint, or its bytes' range. */
function field(b: Uint8Array, p: number, to: number): number | [number, number] | undefined {
  const varint = (): number => {
    let v = 0;
    for (let i = 0, mul = 1; i < 10 && p < to; i++, mul *= 128) {
      const byte = b[p++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
    }
    throw 0;
  };
  while (p < to) {
    const tag = varint();
    const wire = tag & 7;
    const len = wire === 0 ? varint() : wire === 2 ? varint() : wire === 1 ? 8 : wire === 5 ? 4 : -1;
    if (len < 0) return;
    if (tag === 8) return len; // field 1, varint
    if (tag === 10) return [p, p + len]; // field 1, bytes
    if (wire) p += len;
  }
}
