// The wasi_snapshot_preview1 calls the library uses, and its little helpers.
// Every WASI runtime has these; the WasmEdge socket calls live in sock.ts so
// that a program which never exports over HTTP does not import them.

@external("wasi_snapshot_preview1", "fd_write")
export declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, written: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
export declare function fd_close(fd: u32): u16;
@external("wasi_snapshot_preview1", "environ_sizes_get")
export declare function environ_sizes_get(count: usize, bytes: usize): u16;
@external("wasi_snapshot_preview1", "environ_get")
export declare function environ_get(ptrs: usize, buf: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get")
export declare function clock_time_get(id: u32, precision: u64, time: usize): u16;
@external("wasi_snapshot_preview1", "random_get")
export declare function random_get(buf: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "poll_oneoff")
export declare function poll_oneoff(subs: usize, events: usize, n: usize, done: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_get")
export declare function fd_prestat_get(fd: u32, prestat: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_dir_name")
export declare function fd_prestat_dir_name(fd: u32, path: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "path_open")
export declare function path_open(
  dirfd: u32, dirflags: u32, path: usize, pathLen: usize, oflags: u16,
  rightsBase: u64, rightsInheriting: u64, fdflags: u16, fd: usize,
): u16;

// WASI errno values (wasi_snapshot_preview1 `errno`).
export const ESUCCESS: u16 = 0;
export const EAGAIN: u16 = 6;
export const EINPROGRESS: u16 = 26;
export const EINTR: u16 = 27;
export const ENOSYS: u16 = 52;
export const ENOTSUP: u16 = 58;

export const STDOUT: u32 = 1;
export const STDERR: u32 = 2;

/** Scratch for the calls' out-parameters and iovecs. */
const SCRATCH: usize = memory.data(64);

/** Up to 3 iovecs (ptr, len pairs) for writeParts. */
export const IOVS: usize = memory.data(24);
/** Bytes the last writeAll or writeParts got out, whatever it returned. */
export let lastWritten: i32 = 0;

/** Writes all `len` bytes at `ptr` to `fd`; false when the fd refuses them. */
export function writeAll(fd: u32, ptr: usize, len: i32): bool {
  store<u32>(IOVS, <u32>ptr);
  store<u32>(IOVS, <u32>len, 4);
  return writeParts(fd, 1);
}

/**
 * Writes the `count` iovecs at IOVS whole, in as few fd_write calls as the fd
 * takes (IOVS is used up); false when the fd refuses them. `nwritten` counts
 * only on success: runtimes leave it as it was on an error. EINTR is tried
 * again, EAGAIN after 1 ms; 100 tries without progress give up (never spin).
 */
export function writeParts(fd: u32, count: i32): bool {
  let iov = IOVS;
  let left = count;
  let rounds = 0;
  lastWritten = 0;
  while (left > 0 && load<u32>(iov, 4) == 0) { // empty iovecs: nothing to write
    iov += 8;
    left--;
  }
  while (left > 0) {
    const err = fd_write(fd, iov, <usize>left, SCRATCH);
    let n = err == ESUCCESS ? <i32>load<u32>(SCRATCH) : 0;
    if (err != ESUCCESS && err != EAGAIN && err != EINTR) return false;
    if (n <= 0) {
      if (++rounds > 100) return false;
      if (err == EAGAIN) sleepMs(1);
      continue;
    }
    lastWritten += n;
    while (left > 0 && n >= <i32>load<u32>(iov, 4)) { // whole iovecs written
      n -= <i32>load<u32>(iov, 4);
      iov += 8;
      left--;
    }
    if (left > 0 && n > 0) { // part of one
      store<u32>(iov, load<u32>(iov) + <u32>n);
      store<u32>(iov, load<u32>(iov, 4) - <u32>n, 4);
    }
  }
  return true;
}

/** Nanoseconds on `clock` (0 realtime, 1 monotonic); 0 when the runtime has none. */
export function clockNs(clock: u32): i64 {
  if (clock_time_get(clock, 1000, SCRATCH) != ESUCCESS) return 0;
  return load<i64>(SCRATCH);
}

/** Sleeps `ms` with a poll_oneoff clock subscription (relative, monotonic). */
export function sleepMs(ms: i32): void {
  if (ms <= 0) return;
  const sub = SUB;
  memory.fill(sub, 0, 48);
  store<u8>(sub, 0, 8); // eventtype clock
  store<u32>(sub, 1, 16); // clock id: monotonic
  store<u64>(sub, <u64>ms * 1_000_000, 24); // timeout
  store<u64>(sub, 1_000_000, 32); // precision
  poll_oneoff(sub, EVENT, 1, SCRATCH);
}

const SUB: usize = memory.data(48);
const EVENT: usize = memory.data(32);
