// OTLP/HTTP over WasmEdge sockets: one HTTP/1.1 POST per batch with a
// Content-Length, the status read back (past interim 1xx answers), retries
// on 429/502/503/504 and network errors within a bound.
import { close, connect, lastErrno, NO_SOCKETS, recv, sendAll } from "./sock";
import { Url } from "./config";
import { sleepMs } from "./sys";
import { next64 } from "../core/ids";

const REPLY_SIZE: i32 = 4096;
const REPLY: usize = memory.data(REPLY_SIZE);

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
 * or is cut off, gives -1. A 429 or 503 head is read on for its Retry-After.
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
        if (end < 0 && (code == 429 || code == 503)) break;
        readRetryAfter(end < 0 ? got : end);
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

/** A `Retry-After: <seconds>` line in REPLY[0..got) into retryAfterMs (an HTTP date is not read). */
function readRetryAfter(got: i32): void {
  for (let i = find(0x0a, got) + 1; i > 0 && i + 12 < got; i++) {
    if (load<u8>(REPLY + <usize>(i - 1)) != 0x0a) continue;
    let j = 0;
    while (j < 12 && (load<u8>(REPLY + <usize>(i + j)) | 0x20) == <u8>RETRY_AFTER.charCodeAt(j)) j++;
    if (j < 12) continue;
    let k = i + 12;
    while (k < got && isSpace(load<u8>(REPLY + <usize>k))) k++;
    let s = 0;
    const from = k;
    for (; k < got && k - from < 9; k++) {
      const d = <i32>load<u8>(REPLY + <usize>k) - 0x30;
      if (d < 0 || d > 9) break;
      s = s * 10 + d;
    }
    while (k < got && isSpace(load<u8>(REPLY + <usize>k))) k++;
    const c = k < got ? load<u8>(REPLY + <usize>k) : 0;
    if (k > from && (c == 0x0d || c == 0x0a)) retryAfterMs = min(s, MAX_RETRY_AFTER_S) * 1000;
    return;
  }
}

function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x09;
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

/** `HTTP/1.x NNN ...` → NNN, else -1. */
function parseStatus(got: i32): i32 {
  if (got < 12 || load<u32>(REPLY) != 0x50545448) return -1; // "HTTP"
  let sp = 0;
  while (sp < got && load<u8>(REPLY + <usize>sp) != 0x20) sp++;
  let code = 0;
  for (let i = 1; i <= 3; i++) {
    const c = <i32>load<u8>(REPLY + <usize>(sp + i));
    if (c < 0x30 || c > 0x39) return -1;
    code = code * 10 + c - 0x30;
  }
  return code;
}
