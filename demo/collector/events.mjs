// GET /api/events: server-sent events telling viewers which traces changed.
// Changes are coalesced (a trace gets many exports) and sent at most every `intervalMs`.

/**
 * @param {ReturnType<import('./store.mjs').createTraceStore>} store
 * @param {{ maxClients?: number, intervalMs?: number, heartbeatMs?: number }} [opts]
 */
export function createEventHub(store, opts = {}) {
  const maxClients = opts.maxClients ?? 32;
  const intervalMs = opts.intervalMs ?? 100;
  /** A client that stops reading is dropped once this much is queued for it. */
  const maxQueuedBytes = 1 << 20;
  const clients = new Set();
  const dirty = new Set();
  let timer = null;

  const unsubscribe = store.onChange((ids) => {
    for (const id of ids) dirty.add(id);
    if (!timer && clients.size > 0) timer = setTimeout(flush, intervalMs);
    if (clients.size === 0) dirty.clear();
  });

  function flush() {
    timer = null;
    let out = '';
    for (const id of dirty) {
      const summary = store.summary(id);
      out += summary ? `event: trace\ndata: ${JSON.stringify(summary)}\n\n` : `event: evicted\ndata: ${JSON.stringify({ traceId: id })}\n\n`;
    }
    dirty.clear();
    if (out) broadcast(out);
  }

  function broadcast(text) {
    for (const res of clients) {
      if (res.writableLength > maxQueuedBytes) {
        res.destroy();
        clients.delete(res);
        continue;
      }
      res.write(text);
    }
  }

  const heartbeat = setInterval(() => broadcast(': ping\n\n'), opts.heartbeatMs ?? 15_000);
  heartbeat.unref();

  return {
    /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
    handle(req, res) {
      if (clients.size >= maxClients) {
        res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '5' });
        res.end('too many event listeners');
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n: connected\n\n');
      clients.add(res);
      const drop = () => clients.delete(res);
      req.on('close', drop);
      res.on('error', drop);
    },
    get clientCount() {
      return clients.size;
    },
    close() {
      unsubscribe();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
