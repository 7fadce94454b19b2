// The development collector: an OTLP/HTTP receiver, a bounded trace store, a JSON
// API and live events for the viewer, and the viewer's static files, on one port.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeTrace } from './analysis.mjs';
import { createEventHub } from './events.mjs';
import { createReceiver, newReceiverStats } from './receiver.mjs';
import { createTraceStore } from './store.mjs';

const viewerDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'viewer');

/** Host names the viewer's API answers by default (see hostMatcher). */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Pages served from a loopback host on any port: the demo's page and worker. */
const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/**
 * Headers a browser sender may use. Listed explicitly: for a credentialed request
 * (sendBeacon) `*` does not count (see docs/platform.md).
 */
const DEFAULT_ALLOWED_HEADERS = [
  'accept', 'accept-language', 'content-language', 'content-type', 'content-encoding',
  'authorization', 'x-requested-with', 'traceparent', 'tracestate',
];

/**
 * @typedef {object} CollectorOptions
 * @property {string} [host] address to bind; default 127.0.0.1
 * @property {number} [port] default 4318 (the OTLP/HTTP port); 0 picks a free one
 * @property {'*' | (string | RegExp)[]} [allowedOrigins] CORS origins; default any loopback origin
 * @property {string[]} [allowedHeaders] CORS request headers allowed
 * @property {string[]} [allowedHosts] Host names the viewer's API (/api/*) answers; default
 *   localhost, 127.0.0.1, [::1] and `host`; others get 403 (against DNS rebinding)
 * @property {number} [maxBodyBytes] limit of a body as sent; default 8 MiB
 * @property {number} [maxDecodedBytes] limit of a body after decompression; default 16 MiB
 * @property {number} [maxConcurrentExports] exports received at once; default 8, more get 503
 * @property {number} [bodyTimeoutMs] a request body must arrive within this; default 10,000, else 408
 * @property {number} [maxSpansPerRequest] spans in one export request; default 10,000, more get 413
 * @property {number} [maxItemsPerRequest] objects (spans, events, links, attributes, values) in one
 *   export request; default 200,000, more get 413
 * @property {number} [maxTraces] traces kept; default 500
 * @property {number} [maxSpans] spans kept over all traces; default 100,000
 * @property {number} [maxSpansPerTrace] default 20,000
 * @property {number} [maxBytes] approximate size of the spans kept (their strings, and 64 bytes for each
 *   object, member and value); default 256 MiB. Also the most one trace may hold: spans past it are
 *   rejected through partialSuccess
 * @property {string} [jsonlPath] append every export to this file, one OTLP/JSON request a line
 * @property {boolean} [viewer] serve the viewer at `/`; default true
 */

/**
 * @typedef {object} RunningCollector
 * @property {string} url base URL, e.g. http://127.0.0.1:4318
 * @property {string} tracesUrl OTLP/HTTP endpoint: `${url}/v1/traces`
 * @property {string} viewerUrl the viewer: `${url}/`
 * @property {string} apiUrl the viewer's JSON API: `${url}/api`
 * @property {number} port
 * @property {ReturnType<typeof createTraceStore>} store
 * @property {() => object} stats counters of the receiver and the store
 * @property {() => Promise<void>} close
 */

/**
 * Starts the collector and the viewer; resolves once listening.
 * @param {CollectorOptions} [options]
 * @returns {Promise<RunningCollector>}
 */
export async function startCollector(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const store = createTraceStore(options);
  const receiverStats = newReceiverStats();
  const jsonl = options.jsonlPath ? openJsonl(options.jsonlPath) : null;
  const receive = createReceiver({
    store,
    maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
    maxDecodedBytes: options.maxDecodedBytes ?? 16 * 1024 * 1024,
    maxConcurrentExports: options.maxConcurrentExports ?? 8,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    maxSpansPerRequest: options.maxSpansPerRequest ?? 10_000,
    maxItemsPerRequest: options.maxItemsPerRequest ?? 200_000,
    jsonl,
    stats: receiverStats,
  });
  const events = createEventHub(store);
  const isAllowedOrigin = originMatcher(options.allowedOrigins);
  const isAllowedHost = hostMatcher(options.allowedHosts ?? [...LOOPBACK_HOSTS, host.includes(':') ? `[${host}]` : host]);
  const allowedHeaders = (options.allowedHeaders ?? DEFAULT_ALLOWED_HEADERS).join(', ');
  const serveViewer = options.viewer ?? true;
  const stats = () => ({ receiver: receiverStats, store: store.stats(), jsonl: jsonl?.stats() ?? null, sseClients: events.clientCount });

  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch {
      // A bug in a route must cost one request, not the collector.
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error');
    }
  });

  function route(req, res) {
    const origin = req.headers.origin;
    if (origin && isAllowedOrigin(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      // sendBeacon sends credentials: the exact origin and this header are required.
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    let url;
    try {
      url = new URL(req.url ?? '/', 'http://collector');
    } catch {
      // An absolute form with a host that is not one (http://[, a port past 65535), or //[.
      return plain(res, 400, 'malformed request target');
    }
    const path = url.pathname;

    if (req.method === 'OPTIONS') {
      if (!origin || !isAllowedOrigin(origin)) {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end(`origin ${JSON.stringify(origin ?? '')} is not allowed by this collector`);
        return;
      }
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, GET, OPTIONS',
        'Access-Control-Allow-Headers': allowedHeaders,
        'Access-Control-Max-Age': '7200',
      });
      res.end();
      return;
    }
    if (path === '/v1/traces') {
      if (req.method !== 'POST') return plain(res, 405, 'use POST', { Allow: 'POST, OPTIONS' });
      return receive(req, res);
    }
    if (path.startsWith('/api/')) {
      // A page on another name that resolves here (DNS rebinding) is same-origin to the
      // browser: only the Host header tells it apart.
      if (!isAllowedHost(req.headers.host)) return json(res, 403, { error: `host ${JSON.stringify(req.headers.host ?? '')} is not allowed (allowedHosts)` });
      if (path === '/api/events' && req.method === 'GET') return events.handle(req, res);
      if (path === '/api/traces' && req.method === 'GET') {
        const limit = clampInt(url.searchParams.get('limit'), 1, 1000, 100);
        return json(res, 200, { traces: store.list(limit) });
      }
      if (path === '/api/traces' && req.method === 'DELETE') {
        store.clear();
        return json(res, 200, { cleared: true });
      }
      const m = /^\/api\/traces\/([0-9a-fA-F]{32})$/.exec(path);
      if (m && req.method === 'GET') {
        const spans = store.spans(m[1].toLowerCase());
        const trace = spans ? analyzeTrace(spans) : null;
        return trace ? json(res, 200, trace) : json(res, 404, { error: `trace ${m[1]} is not in the store` });
      }
      if (path === '/api/stats' && req.method === 'GET') return json(res, 200, stats());
      return json(res, 404, { error: `no API at ${req.method} ${path}` });
    }
    if (serveViewer && (req.method === 'GET' || req.method === 'HEAD')) return staticFile(res, path);
    plain(res, 404, 'not found');
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4318, host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  // Malformed HTTP (not OTLP) gets a 400 and the socket closed; the server goes on.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const base = `http://${urlHost}:${addr.port}`;
  return {
    url: base,
    tracesUrl: `${base}/v1/traces`,
    viewerUrl: `${base}/`,
    apiUrl: `${base}/api`,
    port: addr.port,
    store,
    stats,
    async close() {
      events.close();
      await new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      });
      await jsonl?.close();
    },
  };
}

function originMatcher(allowed) {
  if (allowed === '*') return () => true;
  if (!allowed) return (o) => LOOPBACK_ORIGIN.test(o);
  return (o) => allowed.some((a) => (typeof a === 'string' ? a === o : a.test(o)));
}

/** @param {string[]} names @returns {(header: string | undefined) => boolean} */
function hostMatcher(names) {
  const allowed = new Set(names.map((n) => n.toLowerCase()));
  return (header) => allowed.has((header ?? '').toLowerCase().replace(/:\d*$/, ''));
}

function clampInt(raw, min, max, fallback) {
  const n = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(text);
}

function plain(res, status, text, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
  res.end(text);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

async function staticFile(res, path) {
  let rel;
  try {
    rel = normalize(decodeURIComponent(path === '/' ? '/index.html' : path)).replace(/^([/\\])+/, '');
  } catch {
    return plain(res, 400, 'malformed path');
  }
  const file = join(viewerDir, rel);
  const type = TYPES[extname(file)];
  if (!type || !file.startsWith(viewerDir + sep)) return plain(res, 404, 'not found');
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
    res.end(body);
  } catch {
    plain(res, 404, 'not found');
  }
}

/**
 * An append-only JSONL file; lines are dropped (and counted) while the disk lags far
 * behind, or when a request could not be written as JSON (`write(null)`).
 */
function openJsonl(path) {
  const stream = createWriteStream(path, { flags: 'a' });
  const maxQueuedBytes = 64 * 1024 * 1024;
  let lines = 0;
  let dropped = 0;
  let error = null;
  stream.on('error', (err) => {
    error = err.message;
  });
  return {
    /** @param {string | null} line */
    write(line) {
      if (line === null || error || stream.writableLength > maxQueuedBytes) {
        dropped++;
        return;
      }
      lines++;
      stream.write(line + '\n');
    },
    stats: () => ({ path, lines, dropped, error }),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}
