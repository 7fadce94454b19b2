// Serves the demo shop: its page (with the collector's and the API's URLs
// filled in), its script and style, and the script-tag build from dist/.
// A fixed table of files, so no request path reaches the file system.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const built = (name) => fileURLToPath(new URL(`../../dist/${name}`, import.meta.url));

const FILES = {
  '/': { path: here('index.html'), type: 'text/html; charset=utf-8', template: true },
  '/index.html': { path: here('index.html'), type: 'text/html; charset=utf-8', template: true },
  '/shop.js': { path: here('shop.js'), type: 'text/javascript; charset=utf-8' },
  '/shop.css': { path: here('shop.css'), type: 'text/css; charset=utf-8' },
  '/wasmtrace.js': { path: built('wasmtrace.js'), type: 'text/javascript; charset=utf-8' },
  // Exactly application/wasm, or instantiateStreaming refuses it (docs/platform.md).
  '/wasmtrace.wasm': { path: built('wasmtrace.wasm'), type: 'application/wasm' },
  '/wasmtrace-json.wasm': { path: built('wasmtrace-json.wasm'), type: 'application/wasm' },
};

const escapeAttr = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Starts the shop's static server.
 * @param {{ port?: number, host?: string, tracesUrl: string, apiUrl: string, viewerUrl: string }} o
 *   tracesUrl: the collector's OTLP/HTTP endpoint; apiUrl: the worker's origin; viewerUrl: the trace viewer
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startShop(o) {
  const values = { TRACES_URL: o.tracesUrl, API_URL: o.apiUrl.replace(/\/+$/, ''), VIEWER_URL: o.viewerUrl };
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const file = Object.hasOwn(FILES, path) ? FILES[path] : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    try {
      let body = await readFile(file.path);
      if (file.template) {
        body = Buffer.from(body.toString('utf8').replace(/\{\{([A-Z_]+)\}\}/g, (m, k) => (Object.hasOwn(values, k) ? escapeAttr(values[k]) : m)));
      }
      res.writeHead(200, { 'content-type': file.type, 'content-length': body.length, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      // dist/ missing: `npm start` builds it first.
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot read ${path}: ${e instanceof Error ? e.message : e}`);
    }
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, host, () => resolve(undefined));
  });
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
