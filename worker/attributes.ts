// HTTP span attributes per the OpenTelemetry semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/), plus what
// Workers know about a request (request.cf).
import type { Attributes, Span } from '../src/types.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
/** Query keys whose values semconv says to redact by default (url.full). */
const SIGNATURE_KEYS = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];

/** `http.request.method` (`_OTHER` for unknown methods, with the original kept). */
export function methodAttributes(method: string, attrs: Attributes): string {
  if (METHODS.has(method)) {
    attrs['http.request.method'] = method;
    return method;
  }
  attrs['http.request.method'] = '_OTHER';
  attrs['http.request.method_original'] = method;
  return 'HTTP';
}

/**
 * `url.full` without credentials, with the values of signature keys (and
 * of `redact` keys, or every key when `redact` is true) replaced by REDACTED.
 */
export function redactUrl(url: URL, redact: boolean | string[] | undefined): string {
  if (!url.username && !url.password && !url.search) return url.href;
  const u = new URL(url.href);
  if (u.username) u.username = 'REDACTED';
  if (u.password) u.password = 'REDACTED';
  if (u.search) {
    const keys = Array.isArray(redact) ? SIGNATURE_KEYS.concat(redact) : SIGNATURE_KEYS;
    // Rebuilt by hand: URLSearchParams would re-encode the untouched pairs.
    u.search = u.search
      .slice(1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const key = eq < 0 ? pair : pair.slice(0, eq);
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

interface Cf {
  colo?: unknown;
  country?: unknown;
  httpProtocol?: unknown;
}

/** Attributes of a SERVER span for `request`; returns the span name. */
export function serverAttributes(request: Request, url: URL, route: string | undefined, redact: boolean | string[] | undefined, attrs: Attributes): string {
  const method = methodAttributes(request.method, attrs);
  attrs['url.full'] = redactUrl(url, redact);
  attrs['url.scheme'] = url.protocol.slice(0, -1);
  attrs['url.path'] = url.pathname;
  attrs['server.address'] = url.hostname;
  const ua = request.headers.get('user-agent');
  if (ua) attrs['user_agent.original'] = ua;
  const client = request.headers.get('cf-connecting-ip');
  if (client) attrs['client.address'] = client;
  const cf = (request as { cf?: Cf }).cf;
  if (cf) {
    if (typeof cf.colo === 'string') attrs['cloudflare.colo'] = cf.colo;
    if (typeof cf.country === 'string') attrs['geo.country.iso_code'] = cf.country;
    if (typeof cf.httpProtocol === 'string' && cf.httpProtocol.startsWith('HTTP/')) attrs['network.protocol.version'] = cf.httpProtocol.slice(5);
  }
  if (route) {
    attrs['http.route'] = route;
    return `${method} ${route}`;
  }
  return method;
}

/** Attributes of a CLIENT span for an outgoing `request`; returns the span name. */
export function clientAttributes(request: Request, url: URL, redact: boolean | string[] | undefined, attrs: Attributes): string {
  const method = methodAttributes(request.method, attrs);
  attrs['url.full'] = redactUrl(url, redact);
  attrs['server.address'] = url.hostname;
  attrs['server.port'] = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return method;
}

/** `http.response.status_code`, and `error.type` with status ERROR from `errorFrom` up. */
export function recordStatus(span: Span, status: number, errorFrom: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= errorFrom) span.setAttribute('error.type', String(status)).setStatus({ code: 2 });
}

/** An exception that ends the span's operation: recorded, `error.type`, status ERROR with its message. */
export function recordFailure(span: Span, e: unknown): void {
  span.recordException(e);
  span.setAttribute('error.type', e instanceof Error ? e.name : 'Error');
  span.setStatus({ code: 2, message: e instanceof Error ? e.message : String(e) });
}
