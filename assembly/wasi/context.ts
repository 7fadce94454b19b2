// The active span (a stack threaded through the spans), and the remote
// parent taken from TRACEPARENT/TRACESTATE.
import { Span } from "./span";
import { unhex, utf8 } from "./text";

let active: Span | null = null;

export function currentSpan(): Span | null {
  return active;
}

export function pushActive(span: Span): void {
  span._prev = active;
  span._active = true;
  active = span;
}

/** Takes `span` off the stack; spans ended out of order are unlinked where they are. */
export function popActive(span: Span): void {
  span._active = false;
  if (active === span) {
    active = span._prev;
    return;
  }
  let s = active;
  for (let i = 0; s !== null && i < 1000; i++) {
    const prev: Span | null = s._prev;
    if (prev === span) {
      s._prev = span._prev;
      return;
    }
    s = prev;
  }
}

/** The parent from TRACEPARENT: trace id, span id, flags (| 0x100: remote). */
export const REMOTE: usize = memory.data(24);
export let hasRemote = false;
export let remoteFlags: i32 = 0;
export const STATE_SIZE: i32 = 512;
export const STATE: usize = memory.data(STATE_SIZE);
export let stateLen: i32 = 0;

const TP: usize = memory.data(64);

/**
 * Takes a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`; a higher version
 * may add fields after a dash) and its tracestate. Bad values are ignored.
 */
export function setRemoteParent(traceparent: string, tracestate: string): bool {
  hasRemote = false;
  const n = traceparent.length;
  if (n < 55 || n > 64 || utf8(traceparent, TP, 64) != n) return false;
  if (load<u8>(TP, 2) != 0x2d || load<u8>(TP, 35) != 0x2d || load<u8>(TP, 52) != 0x2d) return false;
  if (!unhex(TP, 1, REMOTE)) return false;
  const version = load<u8>(REMOTE);
  if (version == 0xff || (version == 0 && n != 55) || (n > 55 && load<u8>(TP, 55) != 0x2d)) return false;
  if (!unhex(TP + 3, 16, REMOTE) || !unhex(TP + 36, 8, REMOTE + 16) || !unhex(TP + 53, 1, TP)) return false;
  if ((load<u64>(REMOTE) | load<u64>(REMOTE, 8)) == 0 || load<u64>(REMOTE, 16) == 0) return false;
  remoteFlags = (<i32>load<u8>(TP) & 1) | 0x100;
  hasRemote = true;
  stateLen = tracestate.length ? utf8(tracestate, STATE, STATE_SIZE) : 0;
  return true;
}
