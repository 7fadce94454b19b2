// A raw TCP "collector" on 127.0.0.1 for the export tests: it parses each
// HTTP/1.1 request (head, then a Content-Length body) and lets the test
// answer with bytes, timing and close behaviour of its choice, which
// node:http would not allow (1xx heads, a cut status line, a trickle).
import { createServer, type Socket } from 'node:net';
import { allSpans, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';

export interface RawRequest {
  head: string; // latin1, as on the wire
  headBytes: Buffer;
  headers: Record<string, string>;
  body: Buffer;
  /** Date.now() when the head arrived. */
  at: number;
  complete: boolean;
}

/** Answers one request on `sock`; `index` counts requests from 0. */
export type Answer = (sock: Socket, req: RawRequest, index: number) => void;

export interface RawCollector {
  port: number;
  origin: string;
  requests: RawRequest[];
  connections(): number;
  /** How long each connection stayed open, ms (until the client closed it), in the order they closed. */
  openMs: number[];
  /** Resolves once the client has closed every connection (within 5 s, else rejects). */
  allClosed(): Promise<void>;
  spans(): FlatSpan[];
  close(): Promise<void>;
}

/** A collector that calls `answer` once a request's body is in (never, without one). */
export async function rawCollector(answer?: Answer): Promise<RawCollector> {
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const openMs: number[] = [];
  let connections = 0;
  const srv = createServer((sock) => {
    connections++;
    sockets.add(sock);
    const opened = Date.now();
    sock.on('close', () => {
      if (sockets.delete(sock)) openMs.push(Date.now() - opened);
    });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let req: RawRequest | null = null;
    let need = 0;
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!req) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const headBytes = buf.subarray(0, end);
        const head = headBytes.toString('latin1');
        const headers: Record<string, string> = {};
        for (const line of head.split('\r\n').slice(1)) {
          const i = line.indexOf(':');
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        req = { head, headBytes, headers, body: Buffer.alloc(0), at: Date.now(), complete: false };
        requests.push(req);
        need = Number(headers['content-length'] ?? 0);
        buf = buf.subarray(end + 4);
      }
      if (!req.complete && buf.length >= need) {
        req.body = buf.subarray(0, need);
        req.complete = true;
        answer?.(sock, req, requests.length - 1);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    openMs,
    allClosed: async () => {
      for (let waited = 0; openMs.length < connections; waited += 10) {
        if (waited > 5000) throw new Error(`${connections - openMs.length} connections still open`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    spans: () => requests.filter((r) => r.complete).flatMap((r) =>
      allSpans(r.headers['content-type'] === 'application/json' ? decodeJson(r.body) : decodeProtobuf(r.body))),
    close: () => new Promise<void>((r) => {
      const open = [...sockets];
      sockets.clear();
      for (const s of open) s.destroy();
      srv.close(() => r());
    }),
  };
}

/** Writes `text` (bytes as they are, or a string as UTF-8) in pieces cut at the given offsets, `gapMs` apart, then ends the connection. */
export function writeInPieces(sock: Socket, text: string | Buffer, cuts: number[], gapMs: number): void {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < text.length))].sort((a, b) => a - b);
  const pieces = [0, ...points].map((p, i) => (typeof text === 'string' ? text.slice(p, points[i]) : text.subarray(p, points[i])));
  const next = (i: number) => {
    if (sock.destroyed) return;
    if (i === pieces.length - 1) return void sock.end(pieces[i]!);
    sock.write(pieces[i]!);
    setTimeout(() => next(i + 1), gapMs);
  };
  next(0);
}

export const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n';

/** Spans the demo job makes for `orders` orders: order o has 1 + o % 6 items. */
export function expectedSpans(orders: number): number {
  let n = 1;
  for (let o = 0; o < orders; o++) n += 3 + 1 + (o % 6);
  return n;
}

/** stderr without node:wasi's ExperimentalWarning. */
export const stderrOf = (r: { stderr: string }) => r.stderr.replace(/.*ExperimentalWarning.*\n?/g, '');
