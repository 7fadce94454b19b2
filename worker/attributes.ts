// HTTP span attributes per the OpenTelemetry semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/), plus what
// Workers know about a request (request.cf).
import type { Attributes, Span } from '../src/types.js';

type Redact = boolean | string[] | undefined;

const METHOD = /^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY)$/;
/** Query keys whose values semconv says to redact by default (url.full). */
const SIGNATURE_KEYS = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];

/**
 * `http.request.method` (`_OTHER` for unknown methods, with the original
 * kept) and `url.full`; returns the method part of the span name.
 */
function requestAttributes(request: Request, url: URL, redact: Redact, attrs: Attributes): string {
  const method = request.method;
  const known = METHOD.test(method);
  attrs['http.request.method'] = known ? method : '_OTHER';
  if (!known) attrs['http.request.method_original'] = method;
  attrs['url.full'] = redactUrl(url, redact);
  return known ? method : 'HTTP';
}

/**
 * `url.full` without credentials, with the values of signature keys (and
 * of `redact` keys, or every key when `redact` is true) replaced by REDACTED.
 * Changes `u` (a URL of our own); its other parts stay as they were.
 */
function redactUrl(u: URL, redact: Redact): string {
  if (u.username) u.username = 'REDACTED';
  if (u.password) u.password = 'REDACTED';
  const keys = SIGNATURE_KEYS.concat(Array.isArray(redact) ? redact : []);
  // Rebuilt by hand: URLSearchParams would re-encode the untouched pairs.
  if (u.search) {
    u.search = u.search
      .slice(1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const key = pair.slice(0, eq);
        return eq >= 0 && (redact === true || keys.includes(decode(key))) ? `${key}=REDACTED` : pair;
      })
      .join('&');
  }
  return u.href;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Attributes of a SERVER span for `request`; returns the span name. */
export function serverAttributes(request: Request, route: string | undefined, redact: Redact, attrs: Attributes): string {
  const url = new URL(request.url);
  const method = requestAttributes(request, url, redact, attrs);
  attrs['url.scheme'] = url.protocol.slice(0, -1);
  attrs['url.path'] = url.pathname;
  attrs['server.address'] = url.hostname;
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
  const url = new URL(request.url);
  const method = requestAttributes(request, url, redact, attrs);
  attrs['server.address'] = url.hostname;
  attrs['server.port'] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return method;
}

/** `http.response.status_code`, and `error.type` with status ERROR from `errorFrom` up. */
export function recordStatus(span: Span, status: number, errorFrom: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= errorFrom) span.setAttribute('error.type', String(status)).setStatus({ code: 2 });
}

/** An exception that ends the span's operation: recorded, `error.type`, status ERROR with its message. */
export function recordFailure(span: Span, e: unknown): void {
  const error = e instanceof Error;
  span.recordException(e);
  span.setAttribute('error.type', error ? e.name : 'Error');
  span.setStatus({ code: 2, message: error ? e.message : String(e) });
}
