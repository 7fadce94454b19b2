// W3C Baggage (https://www.w3.org/TR/baggage/): application key/value pairs
// that travel with a request in the `baggage` header. Baggage is kept in its
// header form, validated and within the limits, so that what came in goes
// out as it came (properties included); values are decoded only when read.
import { withBaggage } from './context.js';
import { internalError } from './diag.js';
import { type Carrier, getHeader, setHeader } from './propagation.js';

/** The most list-members the grammar allows (1 + 179), and the bytes the spec's limits name. */
const MAX_MEMBERS = 180;
const MAX_BYTES = 8192;
/** A longer received header is ignored whole rather than parsed. */
const MAX_HEADER_CHARS = 65536;

// The grammar of a list-member (§ Definition): an RFC 7230 token as key and
// property keys, baggage-octets (ASCII without CTLs, space, `"`, `,`, `;`,
// `\`) as values, optional whitespace (OWS) around each part. Neither tokens
// nor octets contain a space or a tab, so a valid member's OWS is every space
// and tab in it.
// A value's trailing OWS is matched only after a non-empty value: with two
// `[ \t]*` side by side the regex could split each run of blanks two ways, and
// a failing match of a 100-byte header took seconds (2^n backtracking).
const T = "[\\w!#$%&'*+.^`|~-]+";
const V = '[\\x21\\x23-\\x2b\\x2d-\\x3a\\x3c-\\x5b\\x5d-\\x7e]+';
const S = '[ \\t]*';
const TOKEN = new RegExp(`^${T}$`);
const MEMBER = new RegExp(`^${S}${T}${S}=${S}(?:${V}${S})?(?:;${S}${T}${S}(?:=${S}(?:${V}${S})?)?)*$`);

/**
 * A value with its `%XX` escapes decoded as UTF-8: bytes that are not UTF-8
 * become U+FFFD, as the spec says ("MUST be replaced with the replacement
 * code point"); a `%` that starts no escape stays as it is.
 */
const decode = (value: string): string =>
  value.replace(/(?:%[\da-f]{2})+/gi, (s) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(s.slice(1).split('%'), (h) => parseInt(h, 16))));

/** One list-member without its OWS; undefined when malformed. */
const member = (text: string): string | undefined => (MEMBER.test(text) ? text.replace(/[ \t]/g, '') : undefined);

/** Members joined into a baggage-string within the limits; members that do not fit are dropped whole. */
function join(members: string[]): string {
  let out = '';
  let n = 0;
  for (const m of members) {
    if (n === MAX_MEMBERS) break;
    // Every character is ASCII here: its length is its size in bytes.
    if (out.length + m.length + (n > 0 ? 1 : 0) > MAX_BYTES) continue;
    out += (n++ > 0 ? ',' : '') + m;
  }
  return out;
}

/** A received `baggage` header, malformed members removed, within the limits ('' when nothing is left). */
export function parseBaggage(header: unknown): string {
  if (typeof header !== 'string' || header.length > MAX_HEADER_CHARS) return '';
  const members: string[] = [];
  for (const text of header.split(',')) {
    const m = member(text);
    if (m) members.push(m);
  }
  return join(members);
}

/** Entries as a baggage-string: values percent-encoded UTF-8; keys that are not tokens and values that are not strings are dropped. */
export function formatBaggage(entries: unknown): string {
  const members: string[] = [];
  if (entries && typeof entries === 'object') {
    for (const [key, value] of Object.entries(entries)) {
      if (!TOKEN.test(key) || typeof value !== 'string') continue;
      try {
        members.push(`${key}=${encodeURIComponent(value)}`);
      } catch {
        // a lone surrogate cannot be encoded: the entry is dropped
      }
    }
  }
  return join(members);
}

/** The entries of a baggage-string, values decoded; of duplicate keys the last wins (OpenTelemetry: the pair added later takes precedence). */
export function baggageEntries(baggage: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (baggage) {
    for (const m of baggage.split(',')) {
      const kv = m.split(';')[0] as string;
      const eq = kv.indexOf('=');
      const key = kv.slice(0, eq);
      out[key] = decode(kv.slice(eq + 1));
    }
  }
  return out;
}

/**
 * Runs `fn` with `entries` as the baggage in effect: tracer.withBaggage, and
 * the script tag's before the tracer exists (spans and requests started
 * inside carry it either way).
 */
export function withBaggageEntries<R>(entries: unknown, fn: () => R): R {
  if (typeof fn !== 'function') return undefined as R;
  let b = '';
  try {
    b = formatBaggage(entries); // entries may be a Proxy or have getters that throw
  } catch (e) {
    internalError(e);
  }
  return withBaggage(b, fn);
}

/** Writes `bg` as the `baggage` header; a baggage header the app wrote itself is left as it is. */
export function injectBaggage(carrier: Carrier, bg: string): void {
  if (bg && getHeader(carrier, 'baggage') == null) setHeader(carrier, 'baggage', bg);
}
