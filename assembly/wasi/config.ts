// Settings from the OpenTelemetry environment variables, over the options
// the program gave. The variables win, so an operator can point a built
// module elsewhere without rebuilding it.
import { asciiLower, getenv, getenvEnum } from "./env";
import { decodes, isTchar } from "./baggage";
import { warn } from "./exporter";
import { hexDigit } from "./text";
import { SCOPE_VERSION } from "../core/scope";

/** One `key=value` pair from a comma-separated OTEL_* list. */
export class Pair {
  constructor(public key: string, public value: string) {}
}

/**
 * Splits `k1=v1,k2=v2` as the JS SDK does (src/resource.ts keyValues): keys
 * and values trimmed, then percent-decoded; an item without a key is
 * skipped, and one with a malformed escape (where decodeURIComponent throws)
 * too, or, given the variable's name `strict`, the whole list, named on stderr.
 */
export function parsePairs(list: string, strict: string = ""): Pair[] {
  const out: Pair[] = [];
  const items = list.split(",");
  for (let i = 0; i < items.length; i++) {
    const item = unchecked(items[i]);
    const eq = item.indexOf("=");
    if (eq <= 0) continue;
    const key = item.substring(0, eq).trim();
    const value = item.substring(eq + 1).trim();
    if (!decodes(key, 0, key.length) || !decodes(value, 0, value.length)) {
      if (!strict.length) continue;
      warn("bad " + strict + " " + list + ": a malformed %-escape; none of it used");
      return [];
    }
    if (!key.length) continue;
    out.push(new Pair(percentDecode(key), percentDecode(value)));
  }
  return out;
}

/** `s` with every `%XX` decoded (`decodes(s)` holds: each escape is good UTF-8). */
function percentDecode(s: string): string {
  if (s.indexOf("%") < 0) return s;
  const bytes = Uint8Array.wrap(String.UTF8.encode(s));
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    let c = bytes[i];
    if (c == 0x25) {
      c = <u8>((hexDigit(bytes[i + 1]) << 4) | hexDigit(bytes[i + 2]));
      i += 2;
    }
    bytes[o++] = c; // decoding only shrinks: write in place
  }
  return String.UTF8.decodeUnsafe(bytes.dataStart, o);
}

/**
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS as header
 * lines, each name once (names compared in any case): the last pair wins, so
 * the TRACES one over the general one, as the JS SDK merges them. A name that
 * is not an HTTP token, or a value with a control character but tab, is
 * dropped (it would break the request); a header the exporter writes itself
 * (ownHeader) is dropped with a warning naming it. Lines over MAX_HEADER_BYTES in all
 * are refused, named on stderr: a sane bound (Node's HTTP server takes heads
 * of up to 16 KB, Go's up to 1 MB).
 */
export function headerLines(general: string, traces: string): string {
  const pairs = parsePairs(general + "," + traces);
  // Each name once, the last sendable pair of it winning: found in one pass from the end
  // with the names seen (a pass over the later pairs for each pair took minutes for 10,000).
  // names[i]: pairs[i]'s name, lower-cased, where it is that name's last sendable pair; else null.
  const names = new Array<string | null>(pairs.length);
  const seen = new Set<string>();
  for (let i = pairs.length - 1; i >= 0; i--) {
    const kv = unchecked(pairs[i]);
    if (!sendable(kv)) continue;
    const name = asciiLower(kv.key);
    if (seen.has(name)) continue;
    seen.add(name);
    names[i] = name;
  }
  const lines = new Array<string>();
  let bytes = 0;
  let named = false; // a User-Agent of the user's own
  for (let i = 0; i < pairs.length; i++) {
    const name = unchecked(names[i]);
    if (name == null) continue;
    const kv = unchecked(pairs[i]);
    if (ownHeader(name)) {
      warn("bad header \"" + kv.key + "\"; using none"); // never its value: it may be a secret
      continue;
    }
    const line = kv.key + ": " + kv.value + "\r\n";
    bytes += String.UTF8.byteLength(line);
    if (bytes <= MAX_HEADER_BYTES) lines.push(line);
    named = named || name == "user-agent";
  }
  let out = "";
  if (bytes > MAX_HEADER_BYTES) {
    warn("OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS make " + bytes.toString() +
      " bytes of header lines, over " + MAX_HEADER_BYTES.toString() + "; none sent");
    named = false;
  } else out = lines.join("");
  // OTLP: exporters SHOULD name themselves, their language and version.
  return named ? out : out + "User-Agent: wasmtrace/" + SCOPE_VERSION + " (WASI)\r\n";
}

const MAX_HEADER_BYTES: i32 = 32768;

/**
 * A header the exporter writes itself (http.ts post): sent twice, Host or
 * Content-Length make the collector answer 400 (RFC 9112 §3.2, §6.3), a
 * Transfer-Encoding misframes the body, and Content-Type and Content-Encoding
 * say what the body is, as JS's delivery does.
 */
function ownHeader(name: string): bool {
  return name == "host" || name == "content-length" || name == "content-type" || name == "content-encoding" ||
    name == "transfer-encoding" || name == "connection";
}

/** A name of HTTP token characters and a value without control characters but tab. */
function sendable(kv: Pair): bool {
  for (let i = 0; i < kv.key.length; i++) {
    if (!isTchar(kv.key.charCodeAt(i))) return false;
  }
  for (let i = 0; i < kv.value.length; i++) {
    const c = kv.value.charCodeAt(i);
    if ((c < 0x20 && c != 0x09) || c == 0x7f) return false;
  }
  return true;
}

/** The traces endpoint: the signal-specific variable as is, else the base with `/v1/traces` on its path. */
export function endpointFromEnv(fallback: string): string {
  const traces = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").trim();
  if (traces.length) return traces;
  const base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT").trim();
  if (!base.length) return fallback;
  // Onto the path, its trailing slashes replaced, before a query or fragment (as JS's envEndpoint).
  let end = base.length;
  const q = base.indexOf("?");
  const h = base.indexOf("#");
  if (q >= 0) end = q;
  if (h >= 0 && h < end) end = h;
  let cut = end;
  while (cut > 0 && base.charCodeAt(cut - 1) == 0x2f) cut--;
  return base.substring(0, cut) + "/v1/traces" + base.substring(end);
}

/** The head-sampling ratio from OTEL_TRACES_SAMPLER(_ARG); `fallback` when unset or bad. */
export function ratioFromEnv(fallback: f64): f64 {
  return samplerRatio(getenvEnum("OTEL_TRACES_SAMPLER"), getenv("OTEL_TRACES_SAMPLER_ARG").trim(), fallback);
}

/**
 * The ratio a sampler name (lower-cased) and its argument ask for, as the JS
 * SDK reads them (src/env.ts envSamplerRatio), applied parent-based whatever
 * the name: `traceidratio` without an argument is 1; an unknown sampler is
 * named on stderr and ignored, its argument too (`fallback` used).
 */
export function samplerRatio(name: string, arg: string, fallback: f64): f64 {
  const sampler = name.startsWith("parentbased_") ? name.substring(12) : name;
  if (sampler == "always_off") return 0;
  if (sampler == "always_on") return 1;
  if (sampler == "traceidratio") return parseRatio(arg, 1);
  if (!name.length) return parseRatio(arg, fallback);
  warn("bad OTEL_TRACES_SAMPLER " + name + "; using parentbased_always_on");
  return fallback;
}

/**
 * OTEL_TRACES_SAMPLER_ARG's text as a ratio: a decimal number from 0 to 1, as
 * JS's Number() reads one; `fallback` when empty, and with a warning naming
 * the variable when bad, as the JS SDK warns.
 */
export function parseRatio(arg: string, fallback: f64): f64 {
  if (!arg.length) return fallback;
  const r = isDecimal(arg) ? parseFloat(arg) : NaN;
  if (r >= 0 && r <= 1) return r;
  warn("bad OTEL_TRACES_SAMPLER_ARG " + arg + "; using " + ratioText(fallback));
  return fallback;
}

/** A ratio as the sampler applies it (none from 0 down, all from 1 up), to six decimals as JS's String() writes it. */
function ratioText(r: f64): string {
  const m = <i32>Math.round(r * 1e6);
  if (m <= 0 || m >= 1_000_000) return m > 0 ? "1" : "0";
  const digits = (m + 1_000_000).toString(); // "1" and six digits
  let end = digits.length;
  while (digits.charCodeAt(end - 1) == 0x30) end--;
  return "0." + digits.substring(1, end);
}

/** Whether `s` is `[+-]digits[.digits][e[+-]digits]` (digits on at least one side of the point). */
function isDecimal(s: string): bool {
  let i = s.charCodeAt(0) == 0x2b || s.charCodeAt(0) == 0x2d ? 1 : 0;
  const start = i;
  i = digits(s, i);
  let mantissa = i - start;
  if (s.charCodeAt(i) == 0x2e) {
    const j = digits(s, i + 1);
    mantissa += j - i - 1;
    i = j;
  }
  if (!mantissa) return false;
  if ((s.charCodeAt(i) | 0x20) == 0x65) {
    i++;
    if (s.charCodeAt(i) == 0x2b || s.charCodeAt(i) == 0x2d) i++;
    const j = digits(s, i);
    if (j == i) return false;
    i = j;
  }
  return i == s.length;
}

function digits(s: string, i: i32): i32 {
  while (i < s.length && <u32>(s.charCodeAt(i) - 0x30) < 10) i++;
  return i;
}

/**
 * The export timeout in ms from OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else
 * OTEL_EXPORTER_OTLP_TIMEOUT; `fallback` when unset, and, named on stderr, when bad. 0 means none.
 */
export function timeoutFromEnv(fallback: i32): i32 {
  let name = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
  let text = getenv(name).trim();
  if (!text.length) text = getenv((name = "OTEL_EXPORTER_OTLP_TIMEOUT")).trim();
  return numberFromEnv(name, text, fallback, 0, I32.MAX_VALUE);
}

/** `text` of variable `name` as a decimal from `min` to `max`; `fallback` when empty, and, named on stderr (as JS does), when bad. */
function numberFromEnv(name: string, text: string, fallback: i32, min: i32, max: i32): i32 {
  if (!text.length) return fallback;
  const n = decimal(text, 9);
  if (n >= min && n <= max) return n;
  warn("bad " + name + " " + text + "; using " + fallback.toString());
  return fallback;
}

/**
 * OTEL_<name>_LIMIT (a span limit variable) as a number from `min` on;
 * `fallback` when unset, and, named on stderr, when bad. One over `max` (what
 * the core holds) is clamped to it, named on stderr, as in JS (src/limits.ts).
 */
export function limitFromEnv(name: string, fallback: i32, min: i32 = 0, max: i32 = 0xffff): i32 {
  const full = "OTEL_" + name + "_LIMIT";
  const text = getenv(full).trim();
  let from = 0;
  while (from < text.length - 1 && text.charCodeAt(from) == 0x30) from++; // leading zeros
  const value = text.substring(from);
  if (!value.length || digits(value, 0) < value.length) return numberFromEnv(full, text, fallback, min, max);
  const n = value.length > 9 ? I32.MAX_VALUE : decimal(value, 9);
  if (n > max) {
    warn("bad " + full + " " + value + "; using " + max.toString());
    return max;
  }
  if (n >= min) return n;
  warn("bad " + full + " " + text + "; using " + fallback.toString());
  return fallback;
}

/** The most slowMs and maxHoldMs take: an hour, as in JS (src/sampler.ts configureTail). */
const MAX_MS: i32 = 3_600_000;

/**
 * Variable `name` as whole milliseconds from `min` to an hour; else `option`
 * (brought into that range): when unset, and, named on stderr, when bad.
 */
export function msFromEnv(name: string, option: i32, min: i32): i32 {
  return numberFromEnv(name, getenv(name).trim(), option < min ? min : option > MAX_MS ? MAX_MS : option, min, MAX_MS);
}

/** Variable `name` as `true` or `false`, any case; else `option`: when unset, and, named on stderr, when bad. */
export function flagFromEnv(name: string, option: bool): bool {
  const text = getenvEnum(name);
  if (text == "true" || text == "false") return text == "true";
  if (text.length) warn("bad " + name + " " + getenv(name).trim() + "; using " + (option ? "true" : "false"));
  return option;
}

/** `s` as a decimal number of at most `maxDigits` digits; -1 when empty, longer, or not all digits. */
function decimal(s: string, maxDigits: i32): i32 {
  if (!s.length || s.length > maxDigits) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** A URL split into what an HTTP/1.1 request needs. */
export class Url {
  ok: bool = false;
  host: string = "";
  port: i32 = 80;
  /** The request target: path and query, percent-encoded as a WHATWG URL's. */
  path: string = "/";
  /** `host[:port]` as the Host header carries it. */
  authority: string = "";
  /** Whether the URL had user info (`user:password@`): refused, as fetch refuses it. */
  userinfo: bool = false;
  /** The URL as warnings may show it: without its user info. */
  shown: string = "";
  /** Its scheme is http (in any case), without user info: one not ok then lacks a host or a valid port. */
  http: bool = false;
}

/**
 * Parses `http://host[:port][/path][?query][#fragment]`, the scheme in any
 * case (the fragment is not sent); anything else (https, or user info) is not ok.
 */
export function parseHttpUrl(url: string): Url {
  const u = new Url();
  u.shown = url;
  const scheme = url.indexOf("://") + 3; // 2: none
  let rest = url.substring(scheme > 2 ? scheme : 0);
  let end = rest.length; // the authority ends at the first "/", "?" or "#"
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c == 0x2f || c == 0x3f || c == 0x23) {
      end = i;
      break;
    }
  }
  const authority = rest.substring(0, end);
  const at = authority.lastIndexOf("@");
  if (at >= 0 && scheme > 2) { // never shown: the password
    u.userinfo = true;
    u.shown = url.substring(0, scheme) + rest.substring(at + 1);
  }
  if (u.userinfo || scheme != 7 || asciiLower(url.substring(0, 7)) != "http://") return u;
  u.http = true;
  const hash = rest.indexOf("#", end);
  const target = rest.substring(end, hash < 0 ? rest.length : hash); // a fragment is never sent
  u.path = encodeTarget(target.startsWith("/") ? target : "/" + target);
  let host = authority;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return u;
    host = authority.substring(1, close);
    const tail = authority.substring(close + 1);
    if (tail.startsWith(":")) u.port = parsePort(tail.substring(1));
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) {
      host = authority.substring(0, colon);
      u.port = parsePort(authority.substring(colon + 1));
    }
  }
  if (!host.length || u.port <= 0) return u;
  u.host = host;
  u.authority = authority;
  u.ok = true;
  return u;
}

/**
 * A request target with the bytes a WHATWG URL percent-encodes so encoded
 * (as fetch sends it): controls, space, non-ASCII (as UTF-8), and `"<>` in
 * both parts, `` `{} `` in the path, `'` in the query. `%` is left as is.
 */
function encodeTarget(target: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(target));
  let plain = true;
  let query = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c == 0x3f) query = true;
    if (encoded(c, query)) plain = false;
  }
  if (plain) return target;
  // Written into a buffer: a string grown a character at a time took seconds for 100,000.
  const out = new Uint8Array(bytes.length * 3);
  let o = 0;
  query = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c == 0x3f) query = true;
    if (encoded(c, query)) {
      out[o++] = 0x25;
      out[o++] = <u8>HEX_UPPER.charCodeAt(c >> 4);
      out[o++] = <u8>HEX_UPPER.charCodeAt(c & 15);
    } else out[o++] = c;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, o); // ASCII: every other byte is encoded
}

const HEX_UPPER = "0123456789ABCDEF";

function encoded(c: u8, query: bool): bool {
  if (c <= 0x20 || c >= 0x7f || c == 0x22 || c == 0x3c || c == 0x3e) return true;
  return query ? c == 0x27 : c == 0x60 || c == 0x7b || c == 0x7d;
}

function parsePort(s: string): i32 {
  const v = decimal(s, 5);
  return v > 0 && v < 65536 ? v : -1;
}
