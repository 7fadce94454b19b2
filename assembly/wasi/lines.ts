// OTLP/JSON lines (the OpenTelemetry file exporter format: one
// ExportTraceServiceRequest per line) to stdout or to a file, for runtimes
// without sockets; a collector's otlpjsonfile receiver reads them.
import {
  ESUCCESS, IOVS, STDOUT, fd_prestat_dir_name, fd_prestat_get, lastWritten, path_open, writeParts,
} from "./sys";
import { utf8 } from "./text";

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
 * stdout) when no preopen holds it, or it is over PATH_SIZE bytes.
 */
export function openOutput(path: string): bool {
  outFd = STDOUT;
  if (!path.length || path == "-") return true;
  const n = utf8(path, PATH, PATH_SIZE, true);
  if (n > PATH_SIZE) return false; // never a shorter path: another file
  // Find the preopened directory that is the longest prefix of the path.
  // Runtimes name them differently: wasmtime and node:wasi as given ("/out"),
  // WasmEdge canonically, without the leading slash ("out" for --dir /out:...,
  // "/" for the root). Leading slashes are ignored on both sides; "." takes
  // relative paths only.
  const ps = slashes(PATH, n);
  let best: i32 = -1;
  let bestLen: i32 = -1;
  let bestEnd: i32 = 0;
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, PRESTAT) != ESUCCESS) break;
    if (load<u8>(PRESTAT) != 0) continue;
    const len = <i32>load<u32>(PRESTAT, 4);
    if (len > DIRNAME_SIZE || fd_prestat_dir_name(fd, DIRNAME, len) != ESUCCESS) continue;
    let dl = len;
    while (dl > 0 && load<u8>(DIRNAME + <usize>(dl - 1)) == 0) dl--;
    while (dl > 1 && load<u8>(DIRNAME + <usize>(dl - 1)) == 0x2f) dl--;
    const ds = slashes(DIRNAME, dl);
    const end = matchEnd(ds, dl, ps, n);
    if (end >= 0 && dl - ds > bestLen) {
      best = <i32>fd;
      bestLen = dl - ds;
      bestEnd = end;
    }
  }
  if (best < 0) return false;
  let rel = PATH + <usize>bestEnd;
  let relLen = n - bestEnd;
  for (;;) { // the separator after the directory, and any "./"
    if (relLen > 0 && load<u8>(rel) == 0x2f) {
      rel++;
      relLen--;
    } else if (relLen >= 2 && load<u16>(rel) == 0x2f2e) {
      rel += 2;
      relLen -= 2;
    } else break;
  }
  // oflags CREAT (1); fdflags APPEND (1); rights RIGHTS (fd_write, fd_sync)
  const err = path_open(<u32>best, 0, rel, <usize>relLen, 1, RIGHTS, 0, 1, FD_OUT);
  if (err != ESUCCESS) return false;
  outFd = <i32>load<u32>(FD_OUT);
  return true;
}

const RIGHTS: u64 = (1 << 6) | (1 << 4); // fd_write | fd_sync

/** How many of the `len` bytes at `p` are leading slashes. */
function slashes(p: usize, len: i32): i32 {
  let i = 0;
  while (i < len && load<u8>(p + <usize>i) == 0x2f) i++;
  return i;
}

/**
 * Does the directory DIRNAME[ds..dl) hold the path PATH[ps..n)? Returns where
 * the rest of the path starts in PATH, or -1.
 */
function matchEnd(ds: i32, dl: i32, ps: i32, n: i32): i32 {
  const dirLen = dl - ds;
  if (dirLen == 1 && load<u8>(DIRNAME + <usize>ds) == 0x2e) return ps == 0 ? 0 : -1; // "."
  if (dirLen == 0) return ps; // the root
  if (ps + dirLen > n) return -1;
  for (let i = 0; i < dirLen; i++) {
    if (load<u8>(DIRNAME + <usize>(ds + i)) != load<u8>(PATH + <usize>(ps + i))) return -1;
  }
  const end = ps + dirLen;
  return end == n || load<u8>(PATH + <usize>end) == 0x2f ? end : -1;
}

/** Whether a line was cut off by a failed write: the next one starts on a new line. */
let cut = false;

/**
 * Writes one request and its newline in one fd_write (after a newline ending
 * a line a failed write cut off, so that a reader finds this one whole);
 * false when the output refused any of it: the line is then not readable
 * (or, written but for its newline, may not be), and its spans are counted lost.
 */
export function writeLine(body: usize, len: i32): bool {
  if (outFd < 0) outFd = STDOUT;
  store<u32>(IOVS, <u32>NEWLINE);
  store<u32>(IOVS, cut ? 1 : 0, 4);
  store<u32>(IOVS, <u32>body, 8);
  store<u32>(IOVS, <u32>len, 12);
  store<u32>(IOVS, <u32>NEWLINE, 16);
  store<u32>(IOVS, 1, 20);
  const lead = cut ? 1 : 0;
  if (writeParts(<u32>outFd, 3)) {
    cut = false;
    return true;
  }
  // Only the leading newline, or nothing of this line, got out: the next line needs none (the old cut is closed), or still needs one.
  cut = lastWritten > lead || (cut && lastWritten == 0);
  return false;
}
