// OTLP protobuf encoder: writes an ExportTraceServiceRequest for the ended
// spans, oldest first, into the output buffer (opentelemetry/proto/trace/v1).
import {
  OUT, OUT_SIZE, S_DATTR, S_DEVENT, S_DLINK, S_END, S_FLAGS, S_KIND, S_NAME,
  S_PARENT, S_REMOTE, S_SPAN, S_START, S_STATUS, S_TRACE, slotAt,
} from "./layout";
import {
  R_ATTR, R_EVENT, R_LINK, R_NAME, R_NATTR, R_STATE, R_STATUS,
  freeSlot, nextRecord, openRecords, peekEnded, popEnded, readPayload, skipHeader, skipRecord,
} from "./pool";
import { internLen, internPtr } from "./intern";
import { countOversize, toUnixNs } from "./config";
import {
  V_ARR_BOOL, V_ARR_DBL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR, V_STRID,
} from "./span";
import { SCOPE_NAME, SCOPE_VERSION } from "./scope";
import * as out from "./out";

const STACK: usize = memory.data(32 * 4);
let depth: i32 = 0;

@inline function varint(v: u64): void {
  while (v >= 0x80) {
    out.byte(<u32>(v & 0x7f) | 0x80);
    v >>= 7;
  }
  out.byte(<u32>v);
}

@inline function tag(field: u32, wire: u32): void {
  varint((field << 3) | wire);
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
  varint(n);
  out.copy(src, n);
}

function asciiField(field: u32, s: string): void {
  tag(field, 2);
  varint(s.length);
  out.ascii(s);
}

/** Opens a length-delimited field; `close` fills in its length. */
function open(field: u32): void {
  tag(field, 2);
  store<usize>(STACK + (<usize>(depth++) << 2), out.pos);
  out.byte(0); // one byte reserved: most nested messages are short
}

function close(): void {
  const at = load<usize>(STACK + (<usize>(--depth) << 2));
  if (out.over) return;
  const len = out.pos - at - 1;
  let n: i32 = 1;
  for (let v = len >> 7; v; v >>= 7) n++;
  if (n > 1) {
    if (!out.room(n - 1)) return;
    memory.copy(at + n, at + 1, len);
    out.pos += n - 1;
  }
  let p = at;
  let v = len;
  while (v >= 0x80) {
    store<u8>(p++, <u8>(v & 0x7f) | 0x80);
    v >>= 7;
  }
  store<u8>(p, <u8>v);
}

/** A string field whose bytes are the payload at the reader's position. */
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

function anyScalar(vtype: u8, num: usize): void {
  if (vtype == V_BOOL) {
    tag(2, 0);
    out.byte(load<i64>(num) != 0 ? 1 : 0);
  } else if (vtype == V_INT) {
    tag(3, 0);
    varint(<u64>load<i64>(num));
  } else if (vtype == V_DBL) {
    fixed64(4, load<i64>(num));
  }
}

const ELEM: usize = memory.data(8);

/** Writes the AnyValue of the attribute record `rec` (reader after its header). */
function anyValue(rec: usize): void {
  const vtype = load<u8>(rec, 1);
  const len = <i32>load<u16>(rec, 6);
  const cap = <i32>load<u16>(rec, 4);
  if (vtype == V_STR) {
    payloadField(1, len);
  } else if (vtype == V_STRID) {
    const id = <i32>load<i64>(rec, 8);
    bytesField(1, internPtr(id), internLen(id));
  } else if (vtype >= V_ARR_STR) {
    const count = <i32>load<i64>(rec, 8);
    open(5); // ArrayValue
    for (let i = 0; i < count; i++) {
      open(1); // AnyValue
      if (vtype == V_ARR_STR) {
        readPayload(ELEM, 2);
        payloadField(1, <i32>load<u16>(ELEM));
      } else if (vtype == V_ARR_BOOL) {
        readPayload(ELEM, 1);
        store<i64>(ELEM, <i64>load<u8>(ELEM));
        anyScalar(V_BOOL, ELEM);
      } else {
        readPayload(ELEM, 8);
        if (vtype == V_ARR_INT) intFromDouble(ELEM);
        anyScalar(vtype == V_ARR_INT ? V_INT : V_DBL, ELEM);
      }
      close();
    }
    close();
    readPayload(0, cap - consumedArray(vtype, len, count));
    return;
  } else {
    anyScalar(vtype, rec + 8);
  }
  readPayload(0, cap - (vtype == V_STR ? len : 0));
}

/** Payload bytes an array attribute's elements took (the rest is spare capacity). */
@inline function consumedArray(vtype: u8, len: i32, count: i32): i32 {
  if (vtype == V_ARR_STR) return len;
  return vtype == V_ARR_BOOL ? count : count << 3;
}

function keyValue(field: u32, rec: usize): void {
  const key = <i32>load<u16>(rec, 2);
  skipHeader(rec);
  open(field);
  bytesField(1, internPtr(key), internLen(key));
  open(2);
  anyValue(rec);
  close();
  close();
}

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

function span(slot: usize): void {
  open(2); // ScopeSpans.spans
  bytesField(1, slot + S_TRACE, 16);
  bytesField(2, slot + S_SPAN, 8);
  if (load<u64>(slot, S_PARENT)) bytesField(4, slot + S_PARENT, 8);
  const name = load<i32>(slot, S_NAME);
  if (name >= 0) bytesField(5, internPtr(name), internLen(name));
  tag(6, 0);
  out.byte(load<u8>(slot, S_KIND));
  fixed64(7, toUnixNs(load<f64>(slot, S_START)));
  fixed64(8, toUnixNs(load<f64>(slot, S_END)));
  // flags: trace flags, and whether the parent is remote (HAS_IS_REMOTE|IS_REMOTE).
  tag(16, 5);
  if (out.room(4)) {
    const remote: u32 = load<u64>(slot, S_PARENT) ? 0x100 | (<u32>load<u8>(slot, S_REMOTE) << 9) : 0x100;
    store<u32>(out.pos, <u32>load<u8>(slot, S_FLAGS) | remote);
    out.pos += 4;
  }
  let owner: usize = 0;
  let ownerField: u32 = 0;
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    const type = load<u8>(rec);
    if (owner && type != R_NATTR) {
      closeNested(owner, ownerField);
      owner = 0;
    }
    if (type == R_ATTR) {
      keyValue(9, rec);
    } else if (type == R_NATTR) {
      if (owner) keyValue(ownerField == 4 ? 3 : 4, rec);
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
        store<u32>(out.pos, <u32>load<u8>(rec, 1) | 0x100);
        out.pos += 4;
      }
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      if (n) payloadField(3, n);
    } else if (type == R_NAME) {
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      payloadField(5, n);
    } else if (type == R_STATE) {
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      payloadField(3, n);
    } else {
      skipRecord(rec); // status message (written below), dead records
    }
    rec = nextRecord();
  }
  if (owner) closeNested(owner, ownerField);
  droppedCount(10, <i32>load<u16>(slot, S_DATTR));
  droppedCount(12, <i32>load<u16>(slot, S_DEVENT));
  droppedCount(14, <i32>load<u16>(slot, S_DLINK));
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
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    if (load<u8>(rec) == R_STATUS) {
      const n = <i32>load<u16>(rec, 4);
      skipHeader(rec);
      payloadField(2, n);
      return;
    }
    skipRecord(rec);
    rec = nextRecord();
  }
}

function resource(): void {
  open(1); // ResourceSpans.resource
  const slot = slotAt(0);
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    if (load<u8>(rec) == R_ATTR) keyValue(1, rec);
    else skipRecord(rec);
    rec = nextRecord();
  }
  droppedCount(2, <i32>load<u16>(slot, S_DATTR));
  close();
}

/**
 * Encodes ended spans, oldest first, into at most `maxBytes`. Returns the
 * byte length, 0 when no span has ended, or -1 when the oldest span alone
 * does not fit in `maxBytes` (call again with a larger limit). A span larger
 * than the whole output buffer is dropped and counted.
 */
export function encodeProto(maxBytes: i32): i32 {
  const limit = maxBytes < 64 ? 64 : maxBytes > OUT_SIZE ? OUT_SIZE : maxBytes;
  let count = 0;
  for (;;) {
    if (peekEnded() < 0) return 0;
    out.reset(limit - 8); // room for the outer lengths to grow
    depth = 0;
    open(1); // ExportTraceServiceRequest.resource_spans
    resource();
    open(2); // ResourceSpans.scope_spans
    open(1); // ScopeSpans.scope
    asciiField(1, SCOPE_NAME);
    asciiField(2, SCOPE_VERSION);
    close();
    if (out.over) return -1;
    while (peekEnded() >= 0) {
      const mark = out.pos;
      span(slotAt(peekEnded()));
      if (out.over) {
        out.rollback(mark);
        depth = 2;
        break;
      }
      freeSlot(popEnded());
      count++;
    }
    if (count) break;
    if (limit < OUT_SIZE) return -1;
    freeSlot(popEnded()); // larger than the whole buffer: it can never be sent
    countOversize();
  }
  out.setEnd(limit);
  close();
  close();
  out.setCount(count);
  return <i32>(out.pos - OUT);
}

/** Int arrays arrive as f64 (no BigInt at the boundary); OTLP wants int64. */
function intFromDouble(p: usize): void {
  const d = load<f64>(p);
  store<i64>(p, isFinite(d) ? <i64>d : 0);
}
