// OTLP/HTTP over WasmEdge sockets: one HTTP/1.1 POST per batch with a
// Content-Length, the status read back (past interim 1xx answers), and a
// success's body for a partial success; retries on 429/502/503/504 and
// network errors within a bound.
import { close, connect, endWithin, lastErrno, NO_SOCKETS, recv, sendAll } from "./sock";
import { Url } from "./config";
import { clockNs, sleepMs } from "./sys";
import { hexDigit } from "./text";
import { clearPartialSuccess, readPartialSuccess, retryAfterMs as waitAsked } from "./reply";
import { next64 } from "../core/ids";

/** The answer's head and a success's body, bytes: a partial success is a few dozen; a longer body is not read (as JS past its bound). */
const REPLY_SIZE: i32 = 16384;
const REPLY: usize = memory.data(REPLY_SIZE);

/**
 * How long the rest of an answer may take once its final status line is in,
 * ms: the status is the outcome, and a server that ignores the
 * `Connection: close` asked, sending a body without a length, must not hold
 * the try to its timeout (or for ever, with none).
 */
const REST_MS: i32 = 1000;

/** Outcome of one POST, after retries. */
export const SENT: i32 = 1;
export const REJECTED: i32 = 0; // a status that retrying will not fix
export const UNREACHABLE: i32 = -1; // network errors or retryable statuses until the bound
export const UNSUPPORTED: i32 = NO_SOCKETS; // the runtime has no sockets

/** The last HTTP status (0: none) and errno, for the loss report. */
export let lastStatus: i32 = 0;
export let lastError: u16 = 0;
/** lastError when the collector took the request and sent no valid status line (no errno). */
export const NO_STATUS: u16 = 0xffff;
/** The last answer's Retry-After in ms (0: none), at most MAX_RETRY_AFTER_S seconds. */
let retryAfterMs: i32 = 0;
const MAX_RETRY_AFTER_S: i32 = 30;
/** Whether the answer's body is OTLP/JSON (the request's format), else protobuf. */
let answerJson = false;

/**
 * POSTs `len` bytes at `body` to `url`. `headers` holds extra header lines,
 * each ending in CRLF. Tries at most `attempts` times, waiting `backoffMs`,
 * doubled each time (a random point of its upper half), or the answer's Retry-After when longer, between tries; each try (its connect, send and
 * receive together) ends within `timeoutMs` (0: no limit).
 */
export function post(
  url: Url, contentType: string, headers: string, body: usize, len: i32,
  attempts: i32, backoffMs: i32, timeoutMs: i32,
): i32 {
  let head = "POST " + url.path + " HTTP/1.1\r\nHost: " + url.authority +
    "\r\nContent-Type: " + contentType + "\r\nContent-Length: " + len.toString() +
    "\r\n" + headers + "Connection: close\r\n\r\n";
  const bytes = String.UTF8.encode(head); // the headers are bounded in init (config.ts headerLines)
  answerJson = contentType == "application/json";
  let wait = backoffMs;
  for (let i = 0; i < attempts; i++) {
    if (i) {
      // OTLP: exponential back-off with jitter, over the upper half (as JS's backoffMs).
      const half = wait >> 1;
      sleepMs(max(half + <i32>(next64() % <u64>(half + 1)), retryAfterMs));
      wait = wait < 8000 ? wait << 1 : wait;
    }
    const r = once(url, changetype<usize>(bytes), bytes.byteLength, body, len, timeoutMs);
    if (r == UNSUPPORTED) return r;
    if (r >= 200 && r < 300) return SENT;
    if (r > 0 && r != 429 && r != 502 && r != 503 && r != 504) return REJECTED;
  }
  return UNREACHABLE;
}

/** One exchange: the HTTP status, -1 on a network error, or UNSUPPORTED. */
function once(url: Url, head: usize, headLen: i32, body: usize, len: i32, timeoutMs: i32): i32 {
  lastStatus = 0;
  retryAfterMs = 0;
  clearPartialSuccess();
  const fd = connect(url.host, url.port, timeoutMs);
  lastError = lastErrno;
  if (fd == NO_SOCKETS) return UNSUPPORTED;
  if (fd < 0) return -1;
  let status = -1;
  if (sendAll(fd, head, headLen, body, len)) status = readStatus(fd);
  lastError = status < 0 && !lastErrno ? NO_STATUS : lastErrno;
  close(fd);
  lastStatus = status > 0 ? status : 0;
  return status;
}

/**
 * Reads the answer's status: the code, or -1. Interim 1xx heads (but 101)
 * are skipped whole, as RFC 9110 §15.2 asks; one that does not fit REPLY,
 * or is cut off, gives -1. A 429 or 503 head is read on for its Retry-After,
 * a 2xx one for its body, within REST_MS of the status line.
 */
function readStatus(fd: i32): i32 {
  let got = 0;
  for (let rounds = 0; rounds < 64 && got < REPLY_SIZE; rounds++) {
    const n = recv(fd, REPLY + <usize>got, REPLY_SIZE - got);
    if (n <= 0) break;
    got += n;
    while (find(0x0a, got) >= 0) { // a whole status line
      const code = parseStatus(got);
      const end = headEnd(got);
      if (!interim(code)) {
        endWithin(REST_MS);
        const ok = code >= 200 && code < 300;
        if (end < 0 && (code == 429 || code == 503 || ok)) break;
        readRetryAfter(end < 0 ? got : end);
        if (ok) readBody(fd, code, got, end);
        return code;
      }
      if (end < 0) break;
      got -= end;
      memory.copy(REPLY, REPLY + <usize>end, got);
    }
  }
  const code = got ? parseStatus(got) : -1;
  if (interim(code)) return -1;
  readRetryAfter(got);
  return code;
}

const RETRY_AFTER = "retry-after:";
const CONTENT_LENGTH = "content-length:";
const TRANSFER_ENCODING = "transfer-encoding:";

/** A `Retry-After` line in REPLY[0..got), delta-seconds or an HTTP-date, into retryAfterMs. */
function readRetryAfter(got: i32): void {
  const v = headerValue(RETRY_AFTER, got);
  if (v < 0) return;
  const ms = waitAsked(REPLY + <usize>v, REPLY + <usize>valueEnd, <f64>clockNs(0) / 1e6);
  if (ms >= 0) retryAfterMs = <i32>Math.ceil(min(ms, MAX_RETRY_AFTER_S * 1000));
}

/** Where the value headerValue found last ends, its trailing OWS and CR cut. */
let valueEnd: i32 = 0;

/**
 * Where the value of the first header line `name` (lowercase, its colon
 * included) in REPLY[0..got) starts, after OWS; -1 when there is none, or
 * its line is not whole.
 */
function headerValue(name: string, got: i32): i32 {
  const n = name.length;
  for (let i = find(0x0a, got) + 1; i > 0 && i + n < got; i++) {
    if (byte(i - 1) != 0x0a) continue;
    let j = 0;
    while (j < n && (byte(i + j) | 0x20) == <u8>name.charCodeAt(j)) j++;
    if (j < n) continue;
    let k = i + n;
    while (k < got && isSpace(byte(k))) k++;
    let e = k;
    while (e < got && byte(e) != 0x0a) e++;
    if (e == got) return -1;
    while (e > k && (byte(e - 1) == 0x0d || isSpace(byte(e - 1)))) e--;
    valueEnd = e;
    return k;
  }
  return -1;
}

@inline function byte(i: i32): u8 {
  return load<u8>(REPLY + <usize>i);
}

function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x09;
}

/**
 * Reads the body of a 2xx answer whose head ends at `end` of REPLY[0..got),
 * framed as RFC 9112 §6.3 says (chunked, a Content-Length, or up to the
 * close), and what it says of a partial success. A body cut off, past
 * REPLY or malformed says nothing, as in JS; the spans were delivered.
 * One framed by the close is what came before it or the deadline (REST_MS).
 */
function readBody(fd: i32, code: i32, got: i32, end: i32): void {
  if (code == 204) return;
  const te = headerValue(TRANSFER_ENCODING, end);
  const chunked = te >= 0 && lastCoding(te, valueEnd);
  // A Content-Length counts only without Transfer-Encoding; with neither, the body ends at the close.
  const v = te < 0 ? headerValue(CONTENT_LENGTH, end) : -1;
  const cl = v >= 0 ? decimal(v, valueEnd) : -2;
  if (cl == -1 || cl > REPLY_SIZE - end) return; // malformed, or past REPLY
  const want = cl >= 0 ? end + cl : REPLY_SIZE;
  while (got < want && !(chunked && dechunk(end, got, false) >= 0)) {
    const n = recv(fd, REPLY + <usize>got, want - got);
    if (n <= 0) break; // the close, an error or the deadline
    got += n;
  }
  const len = chunked ? dechunk(end, got, true) : cl >= 0 ? (got >= want ? cl : -1) : got < want ? got - end : -1;
  if (len > 0) readPartialSuccess(REPLY + <usize>end, REPLY + <usize>(end + len), answerJson);
}

/** REPLY[a, b) as a decimal number of up to 9 digits after any leading zeros; -1 when it is not one. */
function decimal(a: i32, b: i32): i32 {
  while (a < b - 1 && byte(a) == 0x30) a++;
  if (b <= a || b - a > 9) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const d = <i32>byte(i) - 0x30;
    if (<u32>d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const CHUNKED = "chunked";

/** Whether the transfer codings REPLY[a, b) end with `chunked` (any case): the body is in chunks. */
function lastCoding(a: i32, b: i32): bool {
  const i = b - 7;
  if (i < a || (i > a && byte(i - 1) != 0x2c && !isSpace(byte(i - 1)))) return false;
  for (let j = 0; j < 7; j++) if ((byte(i + j) | 0x20) != <u8>CHUNKED.charCodeAt(j)) return false;
  return true;
}

/**
 * The chunked body REPLY[from, to) (RFC 9112 §7.1), decoded in place when
 * `write`: its length; -1 when it is not whole yet, or malformed.
 * Extensions and trailers are not read.
 */
function dechunk(from: i32, to: i32, write: bool): i32 {
  let i = from;
  let o = from;
  while (i < to) {
    const s = i;
    while (i < to && byte(i) == 0x30) i++; // leading zeros
    const digits = i;
    let size = 0;
    for (let d = 0; i < to && i - digits < 7 && (d = hexDigit(byte(i))) >= 0; i++) size = (size << 4) | d;
    if (i == s || (i < to && hexDigit(byte(i)) >= 0)) return -1; // none, or past 7 digits (over REPLY anyway)
    while (i < to && byte(i) != 0x0a) i++; // extensions, CR
    if (++i > to) return -1;
    if (!size) return o - from;
    if (to - i <= size) return -1;
    if (write) memory.copy(REPLY + <usize>o, REPLY + <usize>i, size);
    o += size;
    i += size;
    if (byte(i) == 0x0d) i++;
    if (i >= to || byte(i) != 0x0a) return -1;
    i++;
  }
  return -1;
}

function interim(code: i32): bool {
  return code >= 100 && code < 200 && code != 101;
}

/** Index of the first byte `c` in REPLY[0..got), or -1. */
function find(c: u8, got: i32): i32 {
  for (let i = 0; i < got; i++) {
    if (load<u8>(REPLY + <usize>i) == c) return i;
  }
  return -1;
}

/** Where the head in REPLY[0..got) ends, after its empty line (CRLF or bare LF), or -1. */
function headEnd(got: i32): i32 {
  for (let i = 0; i + 1 < got; i++) {
    if (load<u8>(REPLY + <usize>i) != 0x0a) continue;
    const c = load<u8>(REPLY + <usize>(i + 1));
    if (c == 0x0a) return i + 2;
    if (c == 0x0d && i + 2 < got && load<u8>(REPLY + <usize>(i + 2)) == 0x0a) return i + 3;
  }
  return -1;
}

/**
 * `HTTP/1.x NNN ...` → NNN, else -1: three digits (100 or more) after the first space of
 * the status line, then a space (or the line's end, when there is no reason
 * phrase), all within REPLY[0..got).
 */
function parseStatus(got: i32): i32 {
  if (got < 12 || load<u32>(REPLY) != 0x50545448) return -1; // "HTTP"
  let sp = 0;
  while (sp < got && byte(sp) != 0x20 && byte(sp) != 0x0a) sp++;
  if (sp + 4 >= got || byte(sp) != 0x20) return -1;
  let code = 0;
  for (let i = 1; i <= 3; i++) {
    const c = <i32>byte(sp + i);
    if (c < 0x30 || c > 0x39) return -1;
    code = code * 10 + c - 0x30;
  }
  const after = byte(sp + 4);
  // 000 to 099 are no status (RFC 9110 §15: valid codes are 100 to 599; fetch sees none in them).
  return code >= 100 && (after == 0x20 || after == 0x0d || after == 0x0a) ? code : -1;
}
