// A real OTLP/HTTP collector (node:http, 127.0.0.1, ephemeral port) for tests, with
// CORS answered the way the OpenTelemetry Collector's confighttp does (exact origin
// echo, credentials allowed, explicit header list; see docs/platform.md), and a
// static file server for browser tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { allSpans, decodeByContentType, type FlatSpan, type OtlpRequest } from './otlp.js';
import { until } from './poll.js';

export interface CollectorRequest {
  method: string;
  path: string;
  /** Lowercase header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  rawBody: Buffer;
  /** rawBody gunzipped (or inflated) when Content-Encoding says so. */
  body: Buffer;
  /** Decoded by Content-Type when the body is an OTLP trace request. */
  decoded?: OtlpRequest;
  /** Why decoding (or decompression) failed. */
  error?: string;
  /** Date.now() when the whole body had arrived. */
  receivedAt: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Default: an empty ExportTraceServiceResponse in the request's encoding. */
  body?: string | Uint8Array;
  /** Never answer (the socket stays open until the client gives up or close()). */
  hang?: boolean;
  delayMs?: number;
}

/**
 * The ways a collector (or a proxy before it) may answer a successful export
 * besides a response in the request's format: empty, `{}`, another format's
 * body, and 204 with none. Each is a success that says nothing more.
 */
export const SUCCESS_ANSWERS: readonly (readonly [string, Reply])[] = [
  ['200, empty', { body: '' }],
  ['200, {}', { body: '{}', headers: { 'content-type': 'application/json' } }],
  ['200, HTML', { body: '<html><body>OK</body></html>', headers: { 'content-type': 'text/html' } }],
  ['204, no body', { status: 204, body: '' }],
];

export interface CorsOptions {
  /** Exact origins (e.g. 'http://127.0.0.1:1234'), or '*' for any; the origin is always echoed. */
  origins: string[] | '*';
  /** Added to the always-allowed Accept, Accept-Language, Content-Type, Content-Language.
   * When omitted, X-Requested-With is allowed (as the Collector does). ['*'] answers a
   * literal `*`, which browsers ignore for credentialed requests. */
  allowHeaders?: string[];
  /** Default true: the Collector always sends Access-Control-Allow-Credentials: true. */
  credentials?: boolean;
  maxAgeS?: number;
}

export interface Preflight { path: string; headers: Record<string, string>; allowed: boolean; receivedAt: number }
export interface AbortedRequest { path: string; headers: Record<string, string>; error: string; receivedAt: number }

export type Respond = (req: CollectorRequest, index: number) => Reply | Promise<Reply>;

export interface Collector {
  /** Full endpoint URL, e.g. http://127.0.0.1:41234/v1/traces */
  url: string;
  origin: string;
  /** Every non-OPTIONS request, in arrival order. */
  requests: CollectorRequest[];
  /** Every OPTIONS request, in arrival order. */
  preflights: Preflight[];
  /** Requests whose body was cut off (the client went away mid-request), in arrival order. */
  aborted: AbortedRequest[];
  /** All decoded spans so far, with resource and scope attached. */
  spans(): FlatSpan[];
  /** Polls pred every 10 ms; rejects after timeoutMs (default 5000) with a summary. */
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  setRespond(fn: Respond): void;
  /** Ends every connection, including hanging ones. */
  close(): Promise<void>;
}

/**
 * Resolves once `count()` has held still for `stillMs` (polled by `c.waitFor`, any count will do);
 * rejects after `timeoutMs`: requests still on their way, from a page or a page that went.
 */
export function heldStill(c: Collector, count: () => number, stillMs = 1000, timeoutMs = 10_000): Promise<void> {
  let last = -1;
  let since = 0;
  return c.waitFor(() => {
    if (count() !== last) [last, since] = [count(), Date.now()];
    return Date.now() - since >= stillMs;
  }, timeoutMs);
}

const SAFE_HEADERS = ['accept', 'accept-language', 'content-type', 'content-language'];
const MAX_BODY_BYTES = 20 * 1024 * 1024; // the Collector's default max_request_body_size

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as any;
const pbResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

/** An ExportTraceServiceResponse body with partialSuccess, for Reply.body. */
export function partialSuccessBody(format: 'json' | 'protobuf', rejectedSpans: number, errorMessage = ''): string | Uint8Array {
  if (format === 'json') return JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } });
  return pbResponse.encode({ partialSuccess: { rejectedSpans, errorMessage } }).finish() as Uint8Array;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => res(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', rej);
  });
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

function listen(server: Server): Promise<string> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (a === null || typeof a === 'string') return rej(new Error('collector: no TCP address'));
      res(`http://127.0.0.1:${a.port}`);
    });
  });
}

function closer(server: Server, sockets: Set<Socket>, timers: Set<NodeJS.Timeout>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((res) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.close(() => res());
      for (const s of sockets) s.destroy();
    });
    return closing;
  };
}

export async function startCollector(opts: { respond?: Respond; cors?: CorsOptions; path?: string } = {}): Promise<Collector> {
  const path = opts.path ?? '/v1/traces';
  const cors = opts.cors;
  let respond: Respond = opts.respond ?? (() => ({}));
  const requests: CollectorRequest[] = [];
  const preflights: Preflight[] = [];
  const aborted: AbortedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const originAllowed = (origin: string | undefined): origin is string =>
    !!cors && !!origin && (cors.origins === '*' || cors.origins.includes(origin));
  const corsHeaders = (origin: string): Record<string, string> => ({
    'access-control-allow-origin': origin,
    ...(cors!.credentials ?? true ? { 'access-control-allow-credentials': 'true' } : {}),
    vary: 'Origin',
  });

  const handlePreflight = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = flatHeaders(req);
    const origin = headers.origin;
    if (!cors) {
      // The Collector registers only POST on the traces path: no CORS without allowed_origins.
      preflights.push({ path: req.url ?? '', headers, allowed: false, receivedAt: Date.now() });
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const extra = (cors.allowHeaders ?? ['X-Requested-With']).map((h) => h.toLowerCase());
    const requested = (headers['access-control-request-headers'] ?? '')
      .split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    const method = (headers['access-control-request-method'] ?? '').toUpperCase();
    const headersOk = extra.includes('*') || requested.every((h) => SAFE_HEADERS.includes(h) || extra.includes(h));
    const allowed = originAllowed(origin) && method === 'POST' && headersOk;
    preflights.push({ path: req.url ?? '', headers, allowed, receivedAt: Date.now() });
    if (!allowed) {
      res.writeHead(204, { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' }).end();
      return;
    }
    const h: Record<string, string> = { ...corsHeaders(origin!), 'access-control-allow-methods': 'POST' };
    if (extra.includes('*')) h['access-control-allow-headers'] = '*';
    else if (requested.length) h['access-control-allow-headers'] = requested.join(', ');
    if (cors.maxAgeS !== undefined) h['access-control-max-age'] = String(cors.maxAgeS);
    res.writeHead(204, h).end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'OPTIONS') return handlePreflight(req, res);
    const headers = flatHeaders(req);
    const raw = await readBody(req).catch((e: unknown) => {
      aborted.push({ path: req.url ?? '', headers, error: String(e), receivedAt: Date.now() });
      throw e;
    });
    const rawBody = raw === 'too-large' ? Buffer.alloc(0) : raw;
    const r: CollectorRequest = { method: req.method ?? '', path: req.url ?? '', headers, rawBody, body: rawBody, receivedAt: Date.now() };
    const index = requests.push(r) - 1;
    const baseHeaders: Record<string, string> = originAllowed(headers.origin) ? corsHeaders(headers.origin) : {};
    if (raw === 'too-large') {
      r.error = `body larger than ${MAX_BODY_BYTES} bytes`;
      res.writeHead(413, baseHeaders).end();
      return;
    }
    const enc = (headers['content-encoding'] ?? '').trim().toLowerCase();
    try {
      if (enc === 'gzip') r.body = gunzipSync(rawBody);
      else if (enc === 'deflate') r.body = inflateSync(rawBody);
      else if (enc !== '' && enc !== 'identity') r.error = `unsupported Content-Encoding ${enc}`;
    } catch (e) {
      r.error = `cannot decompress ${enc} body: ${(e as Error).message}`;
    }
    if (r.error === undefined && req.method === 'POST' && (req.url ?? '').split('?')[0] === path) {
      try {
        r.decoded = decodeByContentType(headers['content-type'], r.body);
      } catch (e) {
        r.error = (e as Error).message;
      }
    } else if (r.error === undefined) {
      r.error = `not an OTLP export: ${req.method} ${req.url}`;
    }

    let reply: Reply;
    try {
      reply = await respond(r, index);
    } catch (e) {
      reply = { status: 500, body: `respond() threw: ${(e as Error).message}` };
    }
    if (reply.hang) return;
    if (reply.delayMs) {
      await new Promise<void>((done) => {
        const t = setTimeout(() => { timers.delete(t); done(); }, reply.delayMs);
        timers.add(t);
      });
      if (res.destroyed) return;
    }
    const isJson = (headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
    const defaultStatus = r.error !== undefined && r.decoded === undefined && reply.status === undefined ? 400 : 200;
    const status = reply.status ?? defaultStatus;
    const body = reply.body ?? (status === 200 ? (isJson ? '{}' : new Uint8Array(0)) : '');
    const out: Record<string, string> = {
      ...baseHeaders,
      ...(reply.body === undefined && status === 200 ? { 'content-type': isJson ? 'application/json' : 'application/x-protobuf' } : {}),
      ...(reply.headers ?? {}),
    };
    res.writeHead(status, out).end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end(String(e));
    });
  });
  const sockets = trackSockets(server);
  const origin = await listen(server);

  return {
    url: origin + path,
    origin,
    requests,
    preflights,
    aborted,
    spans: () => requests.flatMap((r) => (r.decoded ? allSpans(r.decoded) : [])),
    async waitFor(pred, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) {
          throw new Error(`collector.waitFor: timed out after ${timeoutMs} ms; ${requests.length} request(s), ` +
            `${preflights.length} preflight(s), errors: ${JSON.stringify(requests.map((r) => r.error).filter(Boolean))}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    setRespond(fn) { respond = fn; },
    close: closer(server, sockets, timers),
  };
}

// ---------------------------------------------------------------------------
// Static server

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json',
  '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export type Route =
  | string
  | Uint8Array
  | { body: string | Uint8Array; type?: string; status?: number; headers?: Record<string, string> }
  | ((req: IncomingMessage) => { body: string | Uint8Array; type?: string; status?: number; headers?: Record<string, string> });

export interface StaticOptions {
  /** Files under this directory are served (no traversal outside it). */
  dir?: string;
  /** Exact paths ('/index.html') → content; checked before dir. Type is guessed from the extension. */
  routes?: Record<string, Route>;
  /** Added to every response (e.g. { 'content-security-policy': "script-src 'self'" }). */
  headers?: Record<string, string>;
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:41235 (no trailing slash) */
  origin: string;
  /** origin + '/' */
  url: string;
  /** Paths requested, in order. */
  requests: { method: string; path: string; headers: Record<string, string> }[];
  close(): Promise<void>;
}

/** Serves a directory and/or fixed routes on 127.0.0.1. '/' maps to '/index.html'. */
export async function startStaticServer(dirOrOpts: string | StaticOptions): Promise<StaticServer> {
  const opts: StaticOptions = typeof dirOrOpts === 'string' ? { dir: dirOrOpts } : dirOrOpts;
  const dir = opts.dir ? resolve(opts.dir) : undefined;
  const requests: StaticServer['requests'] = [];
  const typeOf = (p: string): string => CONTENT_TYPES[extname(p).toLowerCase()] ?? 'application/octet-stream';

  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: flatHeaders(req) });
    const p = urlPath === '/' ? '/index.html' : urlPath;
    const send = (status: number, body: string | Uint8Array, type: string, extra: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...(opts.headers ?? {}), ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const route = opts.routes?.[p] ?? opts.routes?.[urlPath];
    if (route !== undefined) {
      const r = typeof route === 'function' ? route(req) : route;
      if (typeof r === 'string' || r instanceof Uint8Array) return send(200, r, typeOf(p));
      return send(r.status ?? 200, r.body, r.type ?? typeOf(p), r.headers);
    }
    if (!dir) return send(404, 'not found', 'text/plain; charset=utf-8');
    const file = normalize(join(dir, p));
    if (file !== dir && !file.startsWith(dir + sep)) return send(403, 'forbidden', 'text/plain; charset=utf-8');
    stat(file)
      .then((s) => (s.isFile() ? readFile(file) : Promise.reject(new Error('not a file'))))
      .then((b) => send(200, b, typeOf(file)))
      .catch(() => send(404, 'not found', 'text/plain; charset=utf-8'));
  });
  const sockets = trackSockets(server);
  const origin = await listen(server);
  return { origin, url: origin + '/', requests, close: closer(server, sockets, new Set()) };
}

export interface EndlessBody {
  url: string;
  requests(): number;
  /** Bytes of the body handed to the socket so far. */
  written(): number;
  /**
   * Bytes written by the time the first response's connection closed (the client
   * stopped reading, or the 3 s body ended); rejects if it is still open after `ms`.
   */
  closed(ms?: number): Promise<number>;
}

/**
 * A server on 127.0.0.1 that answers every request 200 with an endless body:
 * 1 MiB every 5 ms (past 4 MiB in ~20 ms; tens of MB a second on a loaded
 * machine) for at most 3 s, so a client that reads it all waits until then.
 * Closed when the test ends.
 */
export async function startEndlessBody(t: { after(fn: () => unknown): void }): Promise<EndlessBody> {
  let requests = 0;
  let written = 0;
  let closedAfter: number | undefined;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    const chunk = Buffer.alloc(1024 * 1024);
    const timer = setInterval(() => res.write(chunk, () => void (written += chunk.length)), 5);
    const stop = setTimeout(() => res.end(), 3000);
    res.on('close', () => {
      clearInterval(timer);
      clearTimeout(stop);
      closedAfter ??= written;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const { port } = server.address() as { port: number };
  const closed = async (ms = 5000): Promise<number> => {
    await until(() => closedAfter !== undefined, 'the endless body\'s connection to close', ms);
    return closedAfter!;
  };
  return { url: `http://127.0.0.1:${port}/v1/traces`, requests: () => requests, written: () => written, closed };
}
