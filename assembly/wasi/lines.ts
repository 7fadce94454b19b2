// OTLP/JSON lines (the OpenTelemetry file exporter format: one
// ExportTraceServiceRequest per line) to stdout or to a file, for runtimes
// without sockets; a collector's otlpjsonfile receiver reads them.
import {
  ESUCCESS, STDOUT, fd_prestat_dir_name, fd_prestat_get, path_open, writeAll,
} from "./sys";

const NEWLINE: usize = memory.data<u8>([0x0a]);
const PRESTAT: usize = memory.data(8);
const DIRNAME_SIZE: i32 = 512;
const DIRNAME: usize = memory.data(DIRNAME_SIZE);
const PATH_SIZE: i32 = 1024;
const PATH: usize = memory.data(PATH_SIZE);
const FD_OUT: usize = memory.data(4);

let outFd: i32 = -1;

/**
 * Where the lines go: "" or "-" for stdout, else a path opened for appending
 * under one of the preopened directories. Returns false (lines then go to
 * stdout) when no preopen holds it.
 */
export function openOutput(path: string): bool {
  outFd = STDOUT;
  if (!path.length || path == "-") return true;
  const n = String.UTF8.encodeUnsafe(changetype<usize>(path), min(path.length, 300), PATH);
  // Find the preopened directory that is the longest prefix of the path.
  let best: i32 = -1;
  let bestLen: i32 = -1;
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, PRESTAT) != ESUCCESS) break;
    if (load<u8>(PRESTAT) != 0) continue;
    const len = <i32>load<u32>(PRESTAT, 4);
    if (len > DIRNAME_SIZE || fd_prestat_dir_name(fd, DIRNAME, len) != ESUCCESS) continue;
    let dl = len;
    while (dl > 0 && load<u8>(DIRNAME + <usize>(dl - 1)) == 0) dl--;
    if (prefixOf(dl, <i32>n) && dl > bestLen) {
      best = <i32>fd;
      bestLen = dl;
    }
  }
  if (best < 0) return false;
  let rel = PATH + <usize>bestLen;
  let relLen = <i32>n - bestLen;
  while (relLen > 0 && load<u8>(rel) == 0x2f) {
    rel++;
    relLen--;
  }
  if (bestLen == 1 && load<u8>(DIRNAME) == 0x2e) { // "." preopen: the path is relative
    rel = PATH;
    relLen = <i32>n;
    if (relLen >= 2 && load<u16>(PATH) == 0x2f2e) { // "./"
      rel += 2;
      relLen -= 2;
    }
  }
  // oflags CREAT (1); fdflags APPEND (1); rights fd_write (1 << 6) | fd_seek... kept minimal
  const err = path_open(<u32>best, 0, rel, <usize>relLen, 1, RIGHTS, 0, 1, FD_OUT);
  if (err != ESUCCESS) return false;
  outFd = <i32>load<u32>(FD_OUT);
  return true;
}

const RIGHTS: u64 = (1 << 6) | (1 << 4); // fd_write | fd_sync

/** Does DIRNAME (dl bytes) name a directory that holds PATH (n bytes)? */
function prefixOf(dl: i32, n: i32): bool {
  if (dl == 1 && load<u8>(DIRNAME) == 0x2e) return load<u8>(PATH) != 0x2f; // "."
  if (dl > n) return false;
  for (let i = 0; i < dl; i++) {
    if (load<u8>(DIRNAME + <usize>i) != load<u8>(PATH + <usize>i)) return false;
  }
  return dl == n || load<u8>(PATH + <usize>dl) == 0x2f || load<u8>(DIRNAME + <usize>(dl - 1)) == 0x2f;
}

/** Writes one request and its newline; false when the output refuses it. */
export function writeLine(body: usize, len: i32): bool {
  if (outFd < 0) outFd = STDOUT;
  return writeAll(<u32>outFd, body, len) && writeAll(<u32>outFd, NEWLINE, 1);
}
