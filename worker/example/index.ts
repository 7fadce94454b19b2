// The shop's edge API, traced: one import and one wrapper. POST /api/checkout
// calls the payments upstream (PAYMENTS_URL) with fetch, so the browser's
// trace continues here and on into the upstream.
import { instrument, getSpan } from 'wasmtrace/worker';

interface Env {
  PAYMENTS_URL: string;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
}

const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type, traceparent, tracestate, baggage' };

const handler = {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: cors });
    if (url.pathname === '/api/checkout' && request.method === 'POST') {
      // Any body that is not a cart (not JSON, or JSON null, a number, …) is an empty one.
      const cart = (await request.json().catch(() => null)) as { items?: unknown[] } | null;
      const items = Array.isArray(cart?.items) ? cart.items.length : 0;
      getSpan(request)?.setAttribute('shop.cart.items', items);
      const paid = await fetch(`${env.PAYMENTS_URL}/charge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      const body = await paid.text();
      return new Response(JSON.stringify({ ok: paid.ok, items, payment: body }), {
        status: paid.ok ? 200 : 502,
        headers: { 'content-type': 'application/json', ...cors },
      });
    }
    if (url.pathname === '/api/health') return new Response('ok', { headers: cors });
    return new Response('not found', { status: 404, headers: cors });
  },
};

export default instrument(handler, (env: Env) => ({
  serviceName: 'shop-edge',
  route: (request) => {
    const p = new URL(request.url).pathname;
    return p.startsWith('/api/') ? p : undefined;
  },
}));
