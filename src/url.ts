// `url.full` as the semantic conventions want it
// (https://opentelemetry.io/docs/specs/semconv/registry/attributes/url/):
// credentials replaced by REDACTED, and the values of query keys that carry
// signatures (plus any the user names) replaced by REDACTED.

/** Which query values to redact besides the signature keys: `true` for all. */
export type RedactQuery = boolean | string[] | undefined;

/** Query keys whose values semconv says to redact by default. */
const SIGNATURE_KEYS = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];

/**
 * `u` without credentials and with redacted query values, as a string. Changes
 * `u` (a URL of the caller's own); its other parts stay exactly as they were.
 */
export function redactUrl(u: URL, redact?: RedactQuery): string {
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

/**
 * A URL string as `url.full`: unchanged (and not parsed) when it can carry
 * neither credentials nor a query; otherwise through redactUrl. A string that
 * does not parse is returned as it is.
 */
export function fullUrl(href: string, redact?: RedactQuery): string {
  if (!href.includes('@') && !href.includes('?')) return href;
  try {
    return redactUrl(new URL(href), redact);
  } catch {
    return href;
  }
}

/**
 * Whether `href` matches one of `rules` (`propagateTo`): a string matches
 * itself and what lies below it — `https://api.example.com` matches
 * `https://api.example.com/v1` but not `https://api.example.com.evil.net`
 * (a prefix matches up to a `/`, `?` or `#`, or ending in one); a RegExp is
 * tested (its lastIndex reset first: a /g or /y pattern would otherwise match
 * only every other call). Other entries match nothing.
 */
export function matchesAny(rules: readonly unknown[], href: string): boolean {
  const ends = (c: string | undefined): boolean => c !== undefined && '/?#'.includes(c);
  return rules.some((r) =>
    typeof r === 'string'
      ? href.startsWith(r) && (href.length === r.length || ends(r[r.length - 1]) || ends(href[r.length]))
      : r instanceof RegExp && ((r.lastIndex = 0), r.test(href)),
  );
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
