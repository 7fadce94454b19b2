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

/** Writes all `len` bytes at `ptr` to `fd`; false when the fd refuses them. */
export function writeAll(fd: u32, ptr: usize, len: i32): bool {
  let rounds = 0;
  while (len > 0) {
    store<u32>(SCRATCH, <u32>ptr);
    store<u32>(SCRATCH, <u32>len, 4);
    const err = fd_write(fd, SCRATCH, 1, SCRATCH + 8);
    const n = <i32>load<u32>(SCRATCH, 8);
    if (err != ESUCCESS && err != EAGAIN && err != EINTR) return false;
    if (n <= 0 && ++rounds > 100) return false; // a stuck fd: give up, never spin
    ptr += n;
    len -= n;
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
