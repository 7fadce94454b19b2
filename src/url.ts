// `url.full` as the semantic conventions want it
// (https://opentelemetry.io/docs/specs/semconv/registry/attributes/url/):
// credentials replaced by REDACTED, and the values of query keys that carry
// signatures (plus any the user names) replaced by REDACTED. The fragment is
// kept ("if it is known, it SHOULD be included"), its key=value pairs
// redacted alike, OAuth's tokens among them ("sensitive content SHOULD be
// scrubbed when instrumentations can identify it"). Also the URL settings'
// rules, pages' and Workers' alike: propagateTo and redactQuery lists.
import { badSetting, warnOnce } from './diag.js';

/** Which query values to redact besides the signature keys: `true` for all; one key alone counts as a list of one. */
export type RedactQuery = boolean | string | string[] | undefined;

/** Query keys whose values semconv (v1.44) says to redact by default: signatures, and AWS SigV4's credential and session token. */
const SIGNATURE_KEYS = ['X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];
/** Fragment keys redacted by default too: the tokens and code of OAuth 2.0 / OpenID Connect fragment responses. */
const TOKEN_KEYS = ['access_token', 'id_token', 'refresh_token', 'code'];

/**
 * `u` without credentials and with redacted query values, as a string. Changes
 * `u` (a URL of the caller's own); its other parts stay exactly as they were.
 */
export function redactUrl(u: URL, redact?: RedactQuery): string {
  // Either part present: both, as semconv writes it (`https://REDACTED:REDACTED@host/`).
  if (u.username || u.password) u.username = u.password = 'REDACTED';
  const keys = SIGNATURE_KEYS.concat(typeof redact === 'string' || Array.isArray(redact) ? redact : []);
  if (u.search) u.search = pairs(u.search.slice(1), keys, redact);
  if (u.hash) {
    // A hash route's own query (#/path?a=1) is what holds its pairs.
    const h = u.hash.slice(1);
    const q = h.indexOf('?') + 1;
    u.hash = h.slice(0, q) + pairs(h.slice(q), keys.concat(TOKEN_KEYS), redact);
  }
  return u.href;
}

/** `a=1&b=2` with the values of `keys` (all, for `true`) as REDACTED; rebuilt by hand: URLSearchParams would re-encode the untouched pairs. */
function pairs(s: string, keys: string[], redact: RedactQuery): string {
  return s
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq);
      return eq >= 0 && (redact === true || keys.includes(decode(key))) ? `${key}=REDACTED` : pair;
    })
    .join('&');
}

/**
 * A URL string as `url.full`: unchanged (and not parsed) when it can carry
 * neither credentials nor a query nor a fragment; otherwise through redactUrl. A string that
 * does not parse is returned as it is.
 */
export function fullUrl(href: string, redact?: RedactQuery): string {
  if (!/[@?#]/.test(href)) return href;
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

/**
 * A list setting (`propagateTo`, `redactQuery`): an array as it is, one string
 * (or, with `re`, one RegExp) as a list of one. Unset (undefined or null, as
 * other settings) is undefined; anything else too, with one warning that
 * `def` is used.
 */
export function listSetting<T>(name: string, given: unknown, def: string, re?: boolean): T[] | undefined {
  if (Array.isArray(given)) return given;
  if (given == null) return;
  if (typeof given === 'string' || (re && given instanceof RegExp)) return [given as T];
  warnOnce(badSetting(name, given, def));
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
