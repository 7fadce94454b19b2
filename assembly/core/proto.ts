// OTLP protobuf encoder: writes an ExportTraceServiceRequest for the ended
// spans, oldest first, into the output buffer (opentelemetry/proto/trace/v1).
// Attributes were encoded as KeyValue messages when they were set (protoKV);
// here they are copied.
import {
  BLOCK_SIZE, IO, STACK, OUT_SIZE, S_DATTR, S_DEVENT, S_DLINK, S_END, S_FLAGS, S_KIND, S_NAME,
  S_PARENT, S_REMOTE, S_SPAN, S_START, S_STATUS, S_TRACE, slotAt,
} from "./layout";
import {
  H_ATTR, R_ATTR, R_EVENT, R_LINK, R_NAME, R_NATTR, R_STATE, R_STATUS, advance, next,
  findRecord, freeSlot, nextEnded, nextRecord, openRecords, peekEnded, popEnded, setEncoded, rOff, readPayload, skipHeader, skipRecord,
} from "./pool";
import { internLen, internPtr } from "./intern";
import { countOversize, toUnixNs } from "./config";
import {
  NULL_BOOL, NULL_NUM, NULL_STR, V_ARR_BOOL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR, V_STRID, linkFlags,
} from "./span";
import { SCOPE_PROTO, SCOPE_PROTO_SIZE } from "./scope";
import * as out from "./out";

let depth: i32 = 0;
/** Length bytes reserved for an outer message: OUT_SIZE < 2^21. */
const WIDE: usize = 3;

function varint(v: u64): void {
  if (out.room(varintSize(v))) out.pos = putVarint(out.pos, v);
}

/** A field tag; every field written through here is below 16 (one byte). */
@inline function tag(field: u32, wire: u32): void {
  out.byte((field << 3) | wire);
}

function fixed64(field: u32, v: i64): void {
  tag(field, 1);
  if (out.room(8)) {
    store<i64>(out.pos, v);
    out.pos += 8;
  }
}

function bytesField(field: u32, src: usize, n: i32): void {
  tag(field, 2);
  if (out.room(varintSize(n))) out.pos = putVarint(out.pos, n); // varint(), inlined: a span's name comes here
  out.copy(src, n);
}

/** Opens a length-delimited field; `close` fills in its length. */
function open(field: u32): void {
  openInline(field);
}

/** open, inlined where every span calls it. */
@inline function openInline(field: u32): void {
  tag(field, 2);
  store<usize>(STACK + (<usize>(depth++) << 2), out.pos);
  out.byte(0); // one byte reserved: most nested messages are short
}

function close(): void {
  const at = load<usize>(STACK + (<usize>(--depth) << 2));
  if (out.over) return;
  const len = out.pos - at - 1;
  const n = varintSize(len);
  if (n > 1) {
    if (!out.room(n - 1)) return;
    memory.copy(at + n, at + 1, len);
    out.pos += n - 1;
  }
  putVarint(at, len);
}

/** A length-delimited field whose bytes are the payload at the reader's position. */
function payloadField(field: u32, n: i32): void {
  tag(field, 2);
  varint(n);
  if (out.room(n)) {
    readPayload(out.pos, n);
    out.pos += n;
  } else {
    readPayload(0, n);
  }
}

// ---- Attribute values, encoded once when set ------------------------------

function scalar(vtype: i32, num: f64): void {
  if (vtype == <i32>V_BOOL) {
    tag(2, 0);
    out.byte(num != 0 ? 1 : 0);
  } else if (vtype == <i32>V_INT) {
    tag(3, 0);
    varint(<u64>(isFinite(num) ? <i64>num : 0));
  } else {
    tag(4, 1);
    if (out.room(8)) {
      store<f64>(out.pos, num);
      out.pos += 8;
    }
  }
}

/** Writes a varint at `p` (room already checked); returns the next address. */
@inline function putVarint(p: usize, v: u64): usize {
  while (v >= 0x80) {
    store<u8>(p++, <u8>(v & 0x7f) | 0x80);
    v >>= 7;
  }
  store<u8>(p++, <u8>v);
  return p;
}

@inline function varintSize(v: u64): i32 {
  let n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/** Writes a KeyValue message body for the key at `kp` and a value read from IO. */
export function protoKV(kp: usize, klen: i32, vtype: i32, num: f64, len: i32): i32 {
  out.toKV();
  depth = 0;
  const kh = 1 + varintSize(klen) + klen; // the key field
  out.setKVKey(kh);
  if (vtype < <i32>V_ARR_STR) {
    // Scalars and strings: sizes are known, so no open/close.
    let src = IO;
    let n = len;
    if (vtype == <i32>V_STRID) {
      src = internPtr(<i32>num);
      n = internLen(<i32>num);
    }
    const iv: u64 = vtype == <i32>V_INT ? <u64>(isFinite(num) ? <i64>num : 0) : 0;
    const any = vtype == <i32>V_STR || vtype == <i32>V_STRID ? 1 + varintSize(n) + n
      : vtype == <i32>V_BOOL ? 2 : vtype == <i32>V_INT ? 1 + varintSize(iv) : 9;
    const total = kh + 1 + varintSize(any) + any;
    if (!out.room(total)) return -1;
    let p = out.pos;
    store<u8>(p++, 0x0a);
    p = putVarint(p, klen);
    out.copyBytes(p, kp, klen);
    p += klen;
    store<u8>(p++, 0x12);
    p = putVarint(p, any);
    if (vtype == <i32>V_STR || vtype == <i32>V_STRID) {
      store<u8>(p++, 0x0a);
      p = putVarint(p, n);
      out.copyBytes(p, src, n);
    } else if (vtype == <i32>V_BOOL) {
      store<u8>(p, 0x10);
      store<u8>(p, num != 0 ? 1 : 0, 1);
    } else if (vtype == <i32>V_INT) {
      store<u8>(p++, 0x18);
      putVarint(p, iv);
    } else {
      store<u8>(p, 0x21);
      store<f64>(p, num, 1);
    }
    return total;
  }
  // Arrays: their sizes are known only once written.
  bytesField(1, kp, klen);
  open(2); // AnyValue
  {
    const count = <i32>num;
    let p = IO;
    const end = IO + <usize>len;
    open(5); // ArrayValue
    for (let i = 0; i < count && p < end; i++) {
      open(1); // null elements: an empty AnyValue
      if (vtype == <i32>V_ARR_STR) {
        const n = <i32>load<u16>(p);
        p += 2;
        if (n != NULL_STR) {
          bytesField(1, p, n);
          p += n;
        }
      } else if (vtype == <i32>V_ARR_BOOL) {
        if (load<u8>(p) != NULL_BOOL) scalar(V_BOOL, <f64>load<u8>(p));
        p += 1;
      } else {
        if (load<u64>(p) != NULL_NUM) scalar(vtype == <i32>V_ARR_INT ? V_INT : V_DBL, load<f64>(p));
        p += 8;
      }
      close();
    }
    close();
  }
  close();
  return out.over ? -1 : <i32>(out.pos - out.kvAt);
}

/** A stored KeyValue as a field of the message being written. */
function kvField(field: u32, rec: usize): void {
  const n = <i32>load<u16>(rec, 6);
  const cap = <i32>load<u16>(rec, 4);
  if (n < 128 && rOff + H_ATTR + cap <= BLOCK_SIZE && out.room(n + 3)) {
    // The common case: a short record inside one block, copied at once.
    const p = out.pos;
    store<u8>(p, <u8>((field << 3) | 2));
    store<u8>(p, <u8>n, 1);
    out.copyBytes(p + 2, rec + H_ATTR, n);
    out.pos = p + 2 + n;
    advance(H_ATTR + cap);
    return;
  }
  const spare = cap - n;
  skipHeader(rec);
  payloadField(field, n);
  if (spare) readPayload(0, spare);
}

// ---- Spans -----------------------------------------------------------------

function droppedCount(field: u32, n: i32): void {
  if (n > 0) {
    tag(field, 0);
    varint(n);
  }
}

/** Closes an open event or link, writing its dropped-attribute count. */
function closeNested(owner: usize, field: u32): void {
  droppedCount(field, <i32>load<u16>(owner, 6));
  close();
}

/** Trace id, span id, parent, kind, times and flags: one bounds check. */
function spanHeader(slot: usize): void {
  if (!out.room(80)) return;
  let p = out.pos;
  store<u8>(p, 0x0a); // trace_id
  store<u8>(p, 16, 1);
  store<u64>(p, load<u64>(slot, S_TRACE), 2);
  store<u64>(p, load<u64>(slot, S_TRACE + 8), 10);
  store<u8>(p, 0x12, 18); // span_id
  store<u8>(p, 8, 19);
  store<u64>(p, load<u64>(slot, S_SPAN), 20);
  p += 28;
  const parent = load<u64>(slot, S_PARENT);
  if (parent) {
    store<u8>(p, 0x22); // parent_span_id
    store<u8>(p, 8, 1);
    store<u64>(p, parent, 2);
    p += 10;
  }
  store<u8>(p, 0x30); // kind
  store<u8>(p, load<u8>(slot, S_KIND), 1);
  store<u8>(p, 0x39, 2); // start_time_unix_nano
  store<i64>(p, toUnixNs(load<f64>(slot, S_START)), 3);
  store<u8>(p, 0x41, 11); // end_time_unix_nano
  store<i64>(p, toUnixNs(load<f64>(slot, S_END)), 12);
  // flags (field 16, fixed32): trace flags and whether the parent is remote.
  store<u8>(p, 0x85, 20);
  store<u8>(p, 0x01, 21);
  const remote: u32 = parent ? 0x100 | ((<u32>load<u8>(slot, S_REMOTE) & 1) << 9) : 0x100;
  store<u32>(p, <u32>load<u8>(slot, S_FLAGS) | remote, 22);
  out.pos = p + 26;
}

function span(slot: usize): void {
  openInline(2); // ScopeSpans.spans
  spanHeader(slot);
  const name = load<i32>(slot, S_NAME);
  if (name >= 0) bytesField(5, internPtr(name), internLen(name));
  let owner: usize = 0;
  let ownerField: u32 = 0;
  openRecords(slot);
  let rec: usize;
  while ((rec = next()) != 0) {
    const type = load<u8>(rec);
    if (owner && type != R_NATTR) {
      closeNested(owner, ownerField);
      owner = 0;
    }
    if (type == R_ATTR) {
      kvField(9, rec);
    } else if (type == R_NATTR) {
      if (owner) kvField(ownerField == 4 ? 3 : 4, rec);
      else skipRecord(rec);
    } else if (type == R_EVENT) {
      owner = rec;
      ownerField = 4; // Event.dropped_attributes_count
      open(11);
      fixed64(1, toUnixNs(load<f64>(rec, 16)));
      const id = load<i32>(rec, 8);
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      if (id >= 0) bytesField(2, internPtr(id), internLen(id));
      else payloadField(2, n);
    } else if (type == R_LINK) {
      owner = rec;
      ownerField = 5; // Link.dropped_attributes_count
      open(13);
      bytesField(1, rec + 8, 16);
      bytesField(2, rec + 24, 8);
      tag(6, 5);
      if (out.room(4)) {
        store<u32>(out.pos, linkFlags(rec));
        out.pos += 4;
      }
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      if (n) payloadField(3, n);
    } else if (type == R_NAME || type == R_STATE) {
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      payloadField(type == R_NAME ? 5 : 3, n);
    } else {
      skipRecord(rec); // status message (written below), dead records
    }
  }
  if (owner) closeNested(owner, ownerField);
  // One check for the three dropped counts (adjacent u16s): most spans drop nothing.
  if (load<u32>(slot, S_DATTR) | <u32>load<u16>(slot, S_DLINK)) {
    droppedCount(10, <i32>load<u16>(slot, S_DATTR));
    droppedCount(12, <i32>load<u16>(slot, S_DEVENT));
    droppedCount(14, <i32>load<u16>(slot, S_DLINK));
  }
  const code = load<u8>(slot, S_STATUS);
  if (code) {
    open(15);
    if (code == 2) statusMessage(slot);
    tag(3, 0);
    out.byte(code);
    close();
  }
  close();
}

function statusMessage(slot: usize): void {
  const rec = findRecord(slot, R_STATUS);
  if (rec) {
    const n = <i32>load<u16>(rec, 4);
    skipHeader(rec);
    payloadField(2, n);
  }
}

function resource(): void {
  open(1); // ResourceSpans.resource
  const slot = slotAt(0);
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    if (load<u8>(rec) == R_ATTR) kvField(1, rec);
    else skipRecord(rec);
    rec = nextRecord();
  }
  droppedCount(2, <i32>load<u16>(slot, S_DATTR));
  close();
}

/**
 * Encodes ended spans, oldest first, into at most `maxBytes` and at most
 * `maxSpans` spans (0: no bound). Returns the byte length, 0 when no span has ended, or -1
 * when the oldest span alone does not fit in `maxBytes` (call again with a
 * larger limit). A span larger than the whole output buffer is dropped and
 * counted.
 */
export function encodeProto(maxBytes: i32, maxSpans: i32 = i32.MAX_VALUE): i32 {
  const limit = maxBytes < 64 ? 64 : maxBytes > OUT_SIZE ? OUT_SIZE : maxBytes;
  if (maxSpans <= 0) maxSpans = i32.MAX_VALUE; // no bound (an older host passes none)
  let count = 0;
  let resourceAt: usize = 0;
  let scopeAt: usize = 0;
  setEncoded(0);
  for (;;) {
    let i = peekEnded();
    if (i < 0) return 0;
    // The spans of before (8 bytes of room for the outer lengths, 4 of them now reserved ahead).
    out.reset(limit - 4);
    depth = 0;
    resourceAt = wide(1); // ExportTraceServiceRequest.resource_spans
    resource();
    scopeAt = wide(2); // ResourceSpans.scope_spans
    bytesField(1, SCOPE_PROTO, SCOPE_PROTO_SIZE); // ScopeSpans.scope
    if (out.over) return -1;
    while (i >= 0 && count < maxSpans) {
      const mark = out.pos;
      span(slotAt(i));
      if (out.over) {
        out.rollback(mark);
        depth = 0;
        break;
      }
      i = nextEnded(i);
      count++;
    }
    if (count) break;
    if (limit < OUT_SIZE) return -1;
    freeSlot(popEnded()); // larger than the whole buffer: it can never be sent
    countOversize();
  }
  closeOuter(resourceAt, scopeAt);
  setEncoded(count);
  out.setCount(count);
  return <i32>(out.pos - out.start);
}

/**
 * Opens one of the two outer messages with WIDE bytes reserved for its
 * length; returns where its content starts. closeOuter fills them in.
 */
function wide(field: u32): usize {
  tag(field, 2);
  out.pos += WIDE;
  return out.pos;
}

/**
 * Writes the two outer lengths, minimal as close() writes them: the short
 * head (tags, resource) moves up to meet its length fields, not the spans
 * (close()'s memmove of the whole body, twice per request); the request
 * then starts past OUT, at out.start.
 */
function closeOuter(resourceAt: usize, scopeAt: usize): void {
  const spansLen = out.pos - scopeAt;
  const n = varintSize(spansLen);
  putVarint(scopeAt - n, spansLen);
  // The resource and the scope_spans tag, between the two length fields.
  const head = scopeAt - WIDE - resourceAt;
  const to = scopeAt - n - head;
  memory.copy(to, resourceAt, head);
  const len = head + n + spansLen;
  const at = to - varintSize(len);
  putVarint(at, len);
  store<u8>(at - 1, 0x0a); // ExportTraceServiceRequest.resource_spans
  out.setStart(at - 1);
}
