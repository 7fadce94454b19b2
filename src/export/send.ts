// The default transport: POST with fetch, keepalive, the response body always
// read (2xx, for partial success) or cancelled, so the keepalive budget is
// given back. Plus the sendBeacon fallback and the partial-success reader.
import type { Transport, TransportResponse } from './types.js';

/** A Transport posting to `endpoint` with fetch and the configured headers. */
export function fetchTransport(endpoint: string, headers: Readonly<Record<string, string>>): Transport {
  return (body, meta) => {
    const h: Record<string, string> = { ...headers, 'content-type': meta.contentType };
    if (meta.contentEncoding) h['content-encoding'] = meta.contentEncoding;
    // fetch is called before any await: in a pagehide handler the request
    // must be started synchronously.
    const sent = fetch(endpoint, {
      method: 'POST',
      body: body as BodyInit,
      headers: h,
      keepalive: meta.keepalive === true,
      credentials: 'omit',
      ...(meta.signal ? { signal: meta.signal } : {}),
    });
    return sent.then(readResponse);
  };
}

async function readResponse(res: Response): Promise<TransportResponse> {
  if (res.status < 200 || res.status >= 300) {
    try {
      await res.body?.cancel();
    } catch {
      // Already closed: nothing holds the budget.
    }
    return { status: res.status, headers: res.headers };
  }
  let body: Uint8Array | undefined;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch {
    body = undefined;
  }
  return body ? { status: res.status, headers: res.headers, body } : { status: res.status, headers: res.headers };
}

/**
 * navigator.sendBeacon, for runtimes without keepalive fetch. It sends cookies
 * and its loss is invisible (PLATFORM-FACTS.md), so it is only a fallback.
 */
export function beacon(endpoint: string, body: Uint8Array, contentType: string): boolean {
  const nav = (globalThis as { navigator?: { sendBeacon?: (url: string, data: Blob) => boolean } }).navigator;
  if (typeof nav?.sendBeacon !== 'function') return false;
  try {
    return nav.sendBeacon(endpoint, new Blob([body as BlobPart], { type: contentType }));
  } catch {
    return false;
  }
}

/**
 * Spans the collector rejected, from an ExportTraceServiceResponse
 * (protobuf or OTLP/JSON); 0 when the body says nothing about it.
 */
export function rejectedSpans(body: Uint8Array | string | undefined, json: boolean): number {
  if (body === undefined || body.length === 0) return 0;
  try {
    if (json || typeof body === 'string') {
      const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
      const parsed = JSON.parse(text) as { partialSuccess?: { rejectedSpans?: unknown } } | null;
      const n = Number(parsed?.partialSuccess?.rejectedSpans ?? 0);
      return Number.isFinite(n) && n > 0 ? n : 0;
    }
    const ps = field(body, 0, body.length, 1);
    if (!ps) return 0;
    const n = ps.varint ?? (ps.start >= 0 ? field(body, ps.start, ps.end, 1)?.varint ?? 0 : 0);
    return n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** The first field `want` between `from` and `to`: its varint, or its bytes' range. */
function field(b: Uint8Array, from: number, to: number, want: number): { varint?: number; start: number; end: number } | null {
  let p = from;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10 && p < to; i++) {
      const byte = b[p++] ?? 0;
      v += (byte & 0x7f) * mul;
      mul *= 128;
      if (byte < 0x80) return v;
    }
    throw new RangeError('varint');
  };
  while (p < to) {
    const tag = varint();
    const num = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (num === want) return { varint: v, start: -1, end: -1 };
    } else if (wire === 2) {
      const len = varint();
      if (num === want) return { start: p, end: p + len };
      p += len;
    } else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else return null;
  }
  return null;
}
