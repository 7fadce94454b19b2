// The demo shop: a product list, a cart and a checkout that calls the edge
// worker's POST /api/checkout. Tracing is the script tag's job; this file
// only names the checkout click and links its trace in the viewer.
const PRODUCTS = [
  { id: 'mug', name: 'Mug', price: 12.5 },
  { id: 'tea', name: 'Tea', price: 3.99 },
  { id: 'kettle', name: 'Kettle', price: 27.0 },
  { id: 'filter', name: 'Filter', price: 8.25 },
  { id: 'grinder', name: 'Grinder', price: 119.0 },
  { id: 'spoon', name: 'Spoon', price: 0.99 },
];
const MAX_LINES = 20;

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const api = meta('shop-api');
const viewer = meta('trace-viewer');
const cart = [];
const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

function renderProducts() {
  $('products').replaceChildren(...PRODUCTS.map((p) =>
    el('li', { className: 'product' },
      el('span', { className: 'name', textContent: p.name }),
      el('span', { className: 'price', textContent: p.price.toFixed(2) }),
      el('button', { type: 'button', className: 'add', id: `add-${p.id}`, textContent: 'Add', onclick: () => add(p) }))));
}

function renderCart() {
  const list = $('cart');
  if (!cart.length) list.replaceChildren(el('li', { className: 'empty', textContent: 'Your cart is empty.' }));
  else list.replaceChildren(...cart.map((p, i) =>
    el('li', {},
      el('span', { textContent: p.name }),
      el('span', { className: 'price', textContent: p.price.toFixed(2) }),
      el('button', { type: 'button', className: 'remove', title: 'remove', textContent: '×', onclick: () => remove(i) }))));
  $('total').textContent = cart.reduce((sum, p) => sum + p.price, 0).toFixed(2);
  $('checkout').disabled = cart.length === 0;
}

function add(p) {
  if (cart.length < MAX_LINES) cart.push(p);
  renderCart();
}

function remove(i) {
  cart.splice(i, 1);
  renderCart();
}

function show(text, traceId, ok) {
  const out = $('result');
  out.className = ok ? 'ok' : 'error';
  out.replaceChildren(el('p', { textContent: text }));
  if (traceId && viewer) {
    out.append(el('a', { href: `${viewer}#trace=${traceId}`, target: '_blank', rel: 'noopener', id: 'trace-link', textContent: 'See this checkout as one trace' }));
  }
}

async function checkout() {
  const button = $('checkout');
  button.disabled = true;
  // The click's interaction span is active during this handler; it stays open
  // until the fetch below is answered, so it covers the whole checkout.
  const tracing = window.wasmtrace;
  const span = tracing?.getActiveSpan();
  span?.updateName('checkout');
  span?.setAttribute('shop.cart.items', cart.length);
  const traceId = span?.spanContext().traceId;
  document.body.dataset.traceId = traceId ?? '';
  try {
    const res = await fetch(`${api}/api/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: cart.map((p) => p.id) }),
    });
    const body = await res.json().catch(() => ({}));
    let payment = {};
    try {
      payment = JSON.parse(body.payment ?? '{}');
    } catch {
      // the worker passes the upstream's text on; not JSON means no details
    }
    if (res.ok && payment.charged) {
      const total = cart.reduce((sum, p) => sum + p.price, 0).toFixed(2);
      show(`Paid ${total} for ${body.items} item(s). Priced by the WASI job under ${payment.runtime} in ${payment.durationMs} ms.`, traceId, true);
      cart.length = 0;
      renderCart();
    } else {
      show(`Checkout failed (${res.status}).`, traceId, false);
    }
  } catch (e) {
    show(`Checkout failed: ${e instanceof Error ? e.message : String(e)}`, traceId, false);
  } finally {
    button.disabled = cart.length === 0;
    document.body.dataset.checkout = 'done';
    // Send the checkout's spans now rather than at the next batch.
    void tracing?.flush();
  }
}

renderProducts();
renderCart();
$('checkout').addEventListener('click', checkout);
