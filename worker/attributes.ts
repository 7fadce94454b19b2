// HTTP span attributes per the OpenTelemetry semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/), plus what
// Workers know about a request (request.cf).
import type { Attributes, Span } from '../src/types.js';
import { redactUrl, type RedactQuery as Redact } from '../src/url.js';
import { internalError, safeString } from '../src/diag.js';

const METHOD = /^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY)$/;

/**
 * `http.request.method` (`_OTHER` for unknown methods, with the original
 * kept), `url.full` (`url` redacted with it), `server.address` and
 * `server.port`; returns the method part of the span name.
 */
function requestAttributes(request: Request, url: URL, redact: Redact, attrs: Attributes): string {
  const method = request.method;
  const known = METHOD.test(method);
  attrs['http.request.method'] = known ? method : '_OTHER';
  if (!known) attrs['http.request.method_original'] = method;
  attrs['url.full'] = redactUrl(url, redact);
  attrs['server.address'] = url.hostname;
  attrs['server.port'] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return known ? method : 'HTTP';
}

/** Attributes of a SERVER span for `request`; returns the span name. */
export function serverAttributes(request: Request, route: string | undefined, redact: Redact, attrs: Attributes): string {
  const url = new URL(request.url);
  const method = requestAttributes(request, url, redact, attrs);
  attrs['url.scheme'] = url.protocol.slice(0, -1);
  attrs['url.path'] = url.pathname;
  if (url.search) attrs['url.query'] = url.search.slice(1); // redacted above, as url.full
  const cf = (request as { cf?: Record<string, unknown> }).cf ?? {};
  const proto = cf.httpProtocol;
  // [attribute, value] in the order they are recorded; only strings are kept.
  for (const [key, value] of [
    ['user_agent.original', request.headers.get('user-agent')],
    ['client.address', request.headers.get('cf-connecting-ip')],
    ['cloudflare.colo', cf.colo],
    ['geo.country.iso_code', cf.country],
    ['network.protocol.version', typeof proto === 'string' && proto.startsWith('HTTP/') ? proto.slice(5) : 0],
    ['http.route', route],
  ] as const) {
    if (typeof value === 'string' && value) attrs[key] = value;
  }
  return route ? `${method} ${route}` : method;
}

/** Attributes of a CLIENT span for an outgoing `request`; returns the span name. */
export function clientAttributes(request: Request, redact: Redact, attrs: Attributes): string {
  return requestAttributes(request, new URL(request.url), redact, attrs);
}

/** `http.response.status_code`, and `error.type` with status ERROR from `errorFrom` up. */
export function recordStatus(span: Span, status: number, errorFrom: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= errorFrom) span.setAttribute('error.type', String(status)).setStatus({ code: 2 });
}

/**
 * An exception that ends the span's operation: recorded, `error.type`, status
 * ERROR with its message. Never throws: the caller rethrows the app's own.
 */
export function recordFailure(span: Span, e: unknown): void {
  span.recordException(e);
  let name: unknown;
  let message: unknown;
  try {
    ({ name, message } = e instanceof Error ? e : { name: 'Error', message: safeString(e) });
  } catch (x) {
    internalError(x); // a getter that throws: the span is an error without what it hid
  }
  span.setAttribute('error.type', typeof name === 'string' ? name : 'Error');
  span.setStatus({ code: 2, message: message as string });
}
