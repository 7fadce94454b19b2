// WasmEdge's socket extension to wasi_snapshot_preview1 (the calls and struct
// layouts of WasmEdge's lib/host/wasi/wasifunc.cpp and its wasi api.hpp).
// Only code that exports over HTTP reaches these, so only such programs
// import them.
import { EAGAIN, EINPROGRESS, ENOSYS, ENOTSUP, ESUCCESS, fd_close } from "./sys";
import { nowMs } from "./clock";
import { utf8 } from "./text";

@external("wasi_snapshot_preview1", "sock_open")
declare function sock_open(family: u32, type: u32, fd: usize): u16;
@external("wasi_snapshot_preview1", "sock_connect")
declare function sock_connect(fd: u32, address: usize, port: u32): u16;
@external("wasi_snapshot_preview1", "sock_send")
declare function sock_send(fd: u32, iovs: usize, iovsLen: u32, flags: u32, sent: usize): u16;
@external("wasi_snapshot_preview1", "sock_recv")
declare function sock_recv(fd: u32, iovs: usize, iovsLen: u32, flags: u32, received: usize, oflags: usize): u16;
@external("wasi_snapshot_preview1", "sock_setsockopt")
declare function sock_setsockopt(fd: u32, level: u32, name: u32, flag: usize, flagLen: u32): u16;
@external("wasi_snapshot_preview1", "sock_getaddrinfo")
declare function sock_getaddrinfo(
  node: usize, nodeLen: u32, service: usize, serviceLen: u32,
  hints: usize, res: usize, maxRes: u32, resLen: usize,
): u16;

const INET4: u8 = 1; // __WASI_ADDRESS_FAMILY_INET4
const INET6: u8 = 2;
const STREAM: u8 = 2; // __WASI_SOCK_TYPE_SOCK_STREAM
const TCP: u8 = 1; // __WASI_PROTOCOL_IPPROTO_TCP

const SCRATCH: usize = memory.data(32);
/** __wasi_address_t { u8* buf; u32 buf_len }, pointing into CANDIDATES. */
const ADDRESS: usize = memory.data(8);

// getaddrinfo: up to 4 results, each an __wasi_addrinfo_t (28 bytes) pointing
// at an __wasi_sockaddr_t (12 bytes) whose sa_data (26 bytes) holds the port
// (2 bytes, network order) and then the address, as in a C sockaddr.
const MAX_RES: i32 = 4;
const AI: usize = memory.data(28 * MAX_RES);
const SA: usize = memory.data(12 * MAX_RES);
const SA_DATA: usize = memory.data(28 * MAX_RES);
const HINTS: usize = memory.data(28);
/** The longest host name looked up, in bytes (DNS's limit). */
export const MAX_NAME: i32 = 253;
const NAME: usize = memory.data(MAX_NAME + 1);
const RES_PTR: usize = memory.data(4);

/** Last errno of a socket call, for the loss report. */
export let lastErrno: u16 = 0;

/**
 * Resolves `host` into the candidate table: an IPv4 literal directly, anything
 * else with sock_getaddrinfo. Returns how many addresses it holds (0: none).
 */
function resolve(host: string): i32 {
  if (ipv4(host, CANDIDATES + 1)) {
    store<u8>(CANDIDATES, 4);
    return 1;
  }
  const n = utf8(host, NAME, MAX_NAME); // init refuses longer names (exporter.ts)
  store<u8>(NAME + <usize>n, 0);
  memory.fill(HINTS, 0, 28);
  // ai_family 0 (unspecified): IPv4 and IPv6 addresses, in the resolver's order
  store<u8>(HINTS, STREAM, 3);
  store<u8>(HINTS, TCP, 4);
  for (let i = 0; i < MAX_RES; i++) {
    const ai = AI + <usize>(i * 28);
    const sa = SA + <usize>(i * 12);
    memory.fill(ai, 0, 28);
    store<u32>(ai, <u32>sa, 12); // ai_addr
    store<u32>(ai, i + 1 < MAX_RES ? <u32>(ai + 28) : 0, 24); // ai_next
    store<u8>(sa, 0);
    store<u32>(sa, 26, 4); // sa_data_len
    store<u32>(sa, <u32>(SA_DATA + <usize>(i * 28)), 8);
  }
  store<u32>(RES_PTR, <u32>AI);
  // The service is "0": the port goes to sock_connect, no services database needed.
  const err = sock_getaddrinfo(NAME, <u32>n + 1, PORT_TEXT, 2, HINTS, RES_PTR, MAX_RES, SCRATCH);
  lastErrno = err;
  if (err != ESUCCESS) return 0;
  const count = <i32>load<u32>(SCRATCH);
  let found = 0;
  for (let i = 0; i < count && i < MAX_RES; i++) {
    const sa = SA + <usize>(i * 12);
    const fam = load<u8>(sa);
    const data = <usize>load<u32>(sa, 8);
    const cand = CANDIDATES + <usize>(found * 17);
    if (fam == INET4) {
      store<u8>(cand, 4);
      memory.copy(cand + 1, data + 2, 4); // after the port
    } else if (fam == INET6) {
      store<u8>(cand, 16);
      memory.copy(cand + 1, data + 6, 16); // after the port and flowinfo
    } else {
      continue;
    }
    found++;
  }
  return found;
}

/** Resolved addresses: per entry a length byte (4 or 16) and 16 address bytes. */
const CANDIDATES: usize = memory.data(17 * MAX_RES);

const PORT_TEXT: usize = memory.data<u8>([0x30, 0]); // "0": the port goes to sock_connect

function ipv4(s: string, dst: usize): bool {
  let part = 0;
  let value = -1;
  for (let i = 0, n = s.length; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 0x2e;
    if (c == 0x2e) {
      if (value < 0 || value > 255 || part > 3) return false;
      store<u8>(dst + <usize>part, <u8>value);
      part++;
      value = -1;
    } else if (c >= 0x30 && c <= 0x39) {
      value = (value < 0 ? 0 : value * 10) + (c - 0x30);
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part == 4;
}

/** Result of `connect` when the runtime has no sockets at all. */
export const NO_SOCKETS: i32 = -2;

/** lastErrno after a connect, send or receive gave up at the timeout. */
export const TIMED_OUT: u16 = 73; // __WASI_ERRNO_TIMEDOUT

const SOL_SOCKET: u32 = 0; // __WASI_SOCK_OPT_LEVEL_SOL_SOCKET
const SO_RCVTIMEO: u32 = 11; // __WASI_SOCK_OPT_SO_RCVTIMEO
const SO_SNDTIMEO: u32 = 12; // __WASI_SOCK_OPT_SO_SNDTIMEO
const TIMEVAL: usize = memory.data(16);

/** When the exchange on the socket `connect` opened last must end (ms, nowMs's clock; 0: never). */
let deadline: f64 = 0;

/**
 * Bounds the next blocking call on `fd` by the time left to the deadline,
 * with `opt` (SO_RCVTIMEO for a receive, SO_SNDTIMEO for a send or connect);
 * false when no time is left. WasmEdge's sockets block with no limit (a
 * collector that accepts and never answers would hang the program in
 * sock_recv), and its sock_setsockopt hands the bytes to the host's
 * setsockopt as they are: a 64-bit host's struct timeval { i64 tv_sec; i64
 * tv_usec }. SO_SNDTIMEO bounds connect as well (Linux); at the limit a
 * receive or send fails with EAGAIN, a connect with EINPROGRESS. Errors are
 * ignored: the call then simply has no limit.
 */
function bound(fd: u32, opt: u32): bool {
  if (!deadline) return true;
  const left = <i64>Math.ceil(deadline - nowMs());
  if (left <= 0) {
    lastErrno = TIMED_OUT;
    return false;
  }
  store<i64>(TIMEVAL, left / 1000);
  store<i64>(TIMEVAL, (left % 1000) * 1000, 8);
  sock_setsockopt(fd, SOL_SOCKET, opt, TIMEVAL, 16);
  return true;
}

/** Brings the deadline of the exchange under way to at most `ms` from now (never later than it was). */
export function endWithin(ms: i32): void {
  const at = nowMs() + ms;
  if (!deadline || at < deadline) deadline = at;
}

/**
 * Opens a TCP connection, trying each address of `host` in turn; returns the
 * fd (any u31 number: WasmEdge hands out large ones), -1 on a network error,
 * or NO_SOCKETS when the runtime does not support sockets. The connect, and
 * every send and receive on the socket, end within `timeoutMs` of this call
 * (0: no limit); the name lookup is not bounded.
 */
export function connect(host: string, port: i32, timeoutMs: i32 = 0): i32 {
  const count = resolve(host);
  if (!count) return lastErrno == ENOSYS || lastErrno == ENOTSUP ? NO_SOCKETS : -1;
  deadline = timeoutMs > 0 ? nowMs() + timeoutMs : 0;
  for (let i = 0; i < count; i++) {
    const cand = CANDIDATES + <usize>(i * 17);
    const len = <u32>load<u8>(cand);
    const err = sock_open(len == 4 ? INET4 : INET6, STREAM, SCRATCH);
    lastErrno = err;
    if (err == ENOSYS || err == ENOTSUP) return NO_SOCKETS;
    if (err != ESUCCESS) continue;
    const fd = load<u32>(SCRATCH);
    if (!bound(fd, SO_SNDTIMEO)) {
      fd_close(fd);
      break;
    }
    store<u32>(ADDRESS, <u32>(cand + 1));
    store<u32>(ADDRESS, len, 4);
    const cerr = sock_connect(fd, ADDRESS, <u32>port);
    lastErrno = cerr == EINPROGRESS ? TIMED_OUT : cerr;
    if (cerr == ESUCCESS) return <i32>fd;
    fd_close(fd);
  }
  return -1;
}

/** Sends two buffers in full; false on error. */
export function sendAll(fd: i32, a: usize, aLen: i32, b: usize, bLen: i32): bool {
  let rounds = 0;
  while (aLen + bLen > 0) {
    store<u32>(IOV, <u32>a);
    store<u32>(IOV, <u32>aLen, 4);
    store<u32>(IOV, <u32>b, 8);
    store<u32>(IOV, <u32>bLen, 12);
    if (!bound(<u32>fd, SO_SNDTIMEO)) return false;
    const err = sock_send(<u32>fd, aLen ? IOV : IOV + 8, aLen ? 2 : 1, 0, SCRATCH);
    lastErrno = err == EAGAIN ? TIMED_OUT : err;
    if (err != ESUCCESS) return false;
    let n = <i32>load<u32>(SCRATCH);
    if (n <= 0 && ++rounds > 100) return false;
    const fromA = n < aLen ? n : aLen;
    a += fromA;
    aLen -= fromA;
    n -= fromA;
    b += n;
    bLen -= n;
  }
  return true;
}

const IOV: usize = memory.data(16);

/** Receives up to `max` bytes at `dst`; the count, 0 at end of stream, -1 on error. */
export function recv(fd: i32, dst: usize, max: i32): i32 {
  store<u32>(IOV, <u32>dst);
  store<u32>(IOV, <u32>max, 4);
  if (!bound(<u32>fd, SO_RCVTIMEO)) return -1;
  const err = sock_recv(<u32>fd, IOV, 1, 0, SCRATCH, SCRATCH + 8);
  lastErrno = err == EAGAIN ? TIMED_OUT : err;
  if (err != ESUCCESS) return -1;
  return <i32>load<u32>(SCRATCH);
}

export function close(fd: i32): void {
  fd_close(<u32>fd);
}

/** True when the runtime opens sockets (a socket is opened and closed again). */
export function probe(): bool {
  const err = sock_open(INET4, STREAM, SCRATCH);
  if (err != ESUCCESS) return err != ENOSYS && err != ENOTSUP;
  fd_close(load<u32>(SCRATCH));
  return true;
}
