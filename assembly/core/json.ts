// OTLP/JSON encoder (the protobuf JSON mapping used by OTLP/HTTP): hex ids,
// lowerCamelCase names, enums as numbers, 64-bit integers as strings. Built
// into its own module so the default download carries protobuf only.
import {
  IO, OUT, OUT_SIZE, S_DATTR, S_DEVENT, S_DLINK, S_END, S_FLAGS, S_KIND, S_NAME, S_PARENT,
  S_REMOTE, S_SPAN, S_START, S_STATUS, S_TRACE, slotAt,
} from "./layout";
import {
  R_ATTR, R_EVENT, R_LINK, R_NAME, R_NATTR, R_STATE, R_STATUS, findRecord, freeSlot, nextEnded,
  nextRecord, openRecords, peekEnded, popEnded, readPayload, setEncoded, skipHeader, skipRecord,
} from "./pool";
import { internLen, internPtr } from "./intern";
import { countOversize, toUnixNs } from "./config";
import {
  NULL_BOOL, NULL_NUM, NULL_STR, V_ARR_BOOL, V_ARR_INT, V_ARR_STR, V_BOOL, V_DBL, V_INT, V_STR, V_STRID, linkFlags,
} from "./span";
import { dtoa_buffered } from "util/number";
import { scopeJson } from "./scope";
import * as out from "./out";

const HEX: usize = memory.data<u8>([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
]);
const TMP: usize = memory.data(256);
const DIGITS: usize = memory.data(64);

function hex(src: usize, n: i32): void {
  out.byte(0x22);
  if (out.room(n << 1)) {
    for (let i = 0; i < n; i++) {
      const b = <usize>load<u8>(src + <usize>i);
      store<u8>(out.pos, load<u8>(HEX + (b >> 4)));
      store<u8>(out.pos, load<u8>(HEX + (b & 15)), 1);
      out.pos += 2;
    }
  }
  out.byte(0x22);
}

/** Writes bytes as the inside of a JSON string (UTF-8 passes through). */
function escaped(src: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(src + <usize>i);
    if (c == 0x22 || c == 0x5c) {
      out.byte(0x5c);
      out.byte(c);
    } else if (c < 0x20) {
      out.ascii("\\u00");
      out.byte(load<u8>(HEX + <usize>(c >> 4)));
      out.byte(load<u8>(HEX + <usize>(c & 15)));
    } else {
      out.byte(c);
    }
  }
}

function str(src: usize, n: i32): void {
  out.byte(0x22);
  escaped(src, n);
  out.byte(0x22);
}

/** A JSON string from `n` payload bytes at the reader's position. */
function payloadStr(n: i32): void {
  out.byte(0x22);
  while (n > 0) {
    const k = n < 256 ? n : 256;
    readPayload(TMP, k);
    escaped(TMP, k);
    n -= k;
  }
  out.byte(0x22);
}

function uint(v: u64): void {
  let n = 0;
  do {
    store<u8>(DIGITS + <usize>(n++), <u8>(0x30 + v % 10));
    v /= 10;
  } while (v);
  if (!out.room(n)) return;
  while (n) store<u8>(out.pos++, load<u8>(DIGITS + <usize>(--n)));
}

/** An int64 as a quoted decimal string, as proto3 JSON asks. */
function int64Str(v: i64): void {
  out.byte(0x22);
  if (v < 0) {
    out.byte(0x2d);
    uint(<u64>(-v));
  } else {
    uint(<u64>v);
  }
  out.byte(0x22);
}

const DTOA: usize = memory.data(64 * 2);

/** A double; NaN and the infinities as the strings proto3 JSON names them. */
function double(v: f64): void {
  if (!isFinite(v)) {
    out.ascii(isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"');
    return;
  }
  // -0 is a double of its own (dtoa writes it as 0.0).
  if (v == 0 && reinterpret<i64>(v) < 0) out.byte(0x2d);
  const n = <i32>dtoa_buffered(DTOA, v);
  if (!out.room(n)) return;
  for (let i = 0; i < n; i++) store<u8>(out.pos++, <u8>load<u16>(DTOA + (<usize>i << 1)));
}

function key(k: string): void {
  out.byte(0x22);
  out.ascii(k);
  out.ascii('":');
}

function scalar(vtype: i32, num: f64): void {
  if (vtype == <i32>V_BOOL) {
    out.ascii(num != 0 ? '{"boolValue":true}' : '{"boolValue":false}');
  } else if (vtype == <i32>V_INT) {
    out.ascii('{"intValue":');
    int64Str(isFinite(num) ? <i64>num : 0);
    out.byte(0x7d);
  } else {
    out.ascii('{"doubleValue":');
    double(num);
    out.byte(0x7d);
  }
}

/** Writes `{"key":…,"value":…}` for the key at `kp` and a value read from IO. */
export function jsonKV(kp: usize, kl: i32, vtype: i32, num: f64, len: i32): i32 {
  out.toKV();
  out.ascii('{"key":');
  str(kp, kl);
  out.setKVKey(<i32>(out.pos - out.kvAt));
  out.ascii(',"value":');
  if (vtype == <i32>V_STR) {
    out.ascii('{"stringValue":');
    str(IO, len);
    out.byte(0x7d);
  } else if (vtype == <i32>V_STRID) {
    out.ascii('{"stringValue":');
    str(internPtr(<i32>num), internLen(<i32>num));
    out.byte(0x7d);
  } else if (vtype >= <i32>V_ARR_STR) {
    const n = <i32>num;
    let p = IO;
    const end = IO + <usize>len;
    out.ascii('{"arrayValue":{"values":[');
    for (let i = 0; i < n && p < end; i++) {
      if (i) out.byte(0x2c);
      // null elements: an empty AnyValue
      if (vtype == <i32>V_ARR_STR) {
        const m = <i32>load<u16>(p);
        p += 2;
        if (m == NULL_STR) {
          out.ascii("{}");
        } else {
          out.ascii('{"stringValue":');
          str(p, m);
          out.byte(0x7d);
          p += m;
        }
      } else if (vtype == <i32>V_ARR_BOOL) {
        if (load<u8>(p) == NULL_BOOL) out.ascii("{}");
        else scalar(V_BOOL, <f64>load<u8>(p));
        p += 1;
      } else {
        if (load<u64>(p) == NULL_NUM) out.ascii("{}");
        else scalar(vtype == <i32>V_ARR_INT ? V_INT : V_DBL, load<f64>(p));
        p += 8;
      }
    }
    out.ascii("]}}");
  } else {
    scalar(vtype, num);
  }
  out.byte(0x7d);
  return out.over ? -1 : <i32>(out.pos - out.kvAt);
}

/** Copies a stored key-value object (the reader is on its record). */
function keyValue(rec: usize): void {
  const n = <i32>load<u16>(rec, 6);
  const spare = <i32>load<u16>(rec, 4) - n;
  skipHeader(rec);
  if (out.room(n)) {
    readPayload(out.pos, n);
    out.pos += n;
  } else {
    readPayload(0, n);
  }
  if (spare) readPayload(0, spare);
}

/** Writes `"attributes":[...]` from the records of `type`. */
function attributes(slot: usize, type: u8): void {
  out.ascii('"attributes":[');
  let first = true;
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    if (load<u8>(rec) == type) {
      if (!first) out.byte(0x2c);
      first = false;
      keyValue(rec);
    } else {
      skipRecord(rec);
    }
    rec = nextRecord();
  }
  out.byte(0x5d);
}

function count(name: string, n: i32): void {
  if (n > 0) {
    out.byte(0x2c);
    key(name);
    uint(<u64>n);
  }
}

/** The string record of `type` as `,"name":"..."` (or `"name":"...",`), when the span has one. */
function stringRecord(slot: usize, type: u8, name: string, leading: bool = true): void {
  const rec = findRecord(slot, type);
  if (!rec) return;
  const n = <i32>load<u16>(rec, 4);
  skipHeader(rec);
  if (leading) out.byte(0x2c);
  key(name);
  payloadStr(n);
  if (!leading) out.byte(0x2c);
}

/** Events or links with their nested attributes. */
function nestedList(slot: usize, type: u8): void {
  out.byte(0x2c);
  key(type == R_EVENT ? "events" : "links");
  out.byte(0x5b);
  let first = true;
  let inside = false;
  let owner: usize = 0;
  let firstAttr = true;
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    const t = load<u8>(rec);
    if (inside && t != R_NATTR) {
      closeOwner(owner);
      inside = false;
    }
    if (t == type) {
      if (!first) out.byte(0x2c);
      first = false;
      inside = true;
      owner = rec;
      firstAttr = true;
      openOwner(rec, type);
    } else if (t == R_NATTR && inside) {
      if (!firstAttr) out.byte(0x2c);
      firstAttr = false;
      keyValue(rec);
    } else {
      skipRecord(rec);
    }
    rec = nextRecord();
  }
  if (inside) closeOwner(owner);
  out.byte(0x5d);
}

function openOwner(rec: usize, type: u8): void {
  const n = <i32>load<u16>(rec, 4);
  if (type == R_EVENT) {
    out.ascii('{"timeUnixNano":');
    int64Str(toUnixNs(load<f64>(rec, 16)));
    out.ascii(',"name":');
    const id = load<i32>(rec, 8);
    skipHeader(rec);
    if (id >= 0) str(internPtr(id), internLen(id));
    else payloadStr(n);
  } else {
    out.ascii('{"traceId":');
    hex(rec + 8, 16);
    out.ascii(',"spanId":');
    hex(rec + 24, 8);
    out.ascii(',"flags":');
    uint(<u64>linkFlags(rec));
    skipHeader(rec);
    if (n) {
      out.ascii(',"traceState":');
      payloadStr(n);
    }
  }
  out.ascii(',"attributes":[');
}

function closeOwner(owner: usize): void {
  out.byte(0x5d);
  count("droppedAttributesCount", <i32>load<u16>(owner, 6));
  out.byte(0x7d);
}

function span(slot: usize): void {
  out.ascii('{"traceId":');
  hex(slot + S_TRACE, 16);
  out.ascii(',"spanId":');
  hex(slot + S_SPAN, 8);
  if (load<u64>(slot, S_PARENT)) {
    out.ascii(',"parentSpanId":');
    hex(slot + S_PARENT, 8);
  }
  stringRecord(slot, R_STATE, "traceState");
  const remote: u32 = load<u64>(slot, S_PARENT) ? 0x100 | ((<u32>load<u8>(slot, S_REMOTE) & 1) << 9) : 0x100;
  out.ascii(',"flags":');
  uint(<u64>(<u32>load<u8>(slot, S_FLAGS) | remote));
  const name = load<i32>(slot, S_NAME);
  if (name >= 0) {
    out.ascii(',"name":');
    str(internPtr(name), internLen(name));
  } else {
    stringRecord(slot, R_NAME, "name");
  }
  out.ascii(',"kind":');
  uint(<u64>load<u8>(slot, S_KIND));
  out.ascii(',"startTimeUnixNano":');
  int64Str(toUnixNs(load<f64>(slot, S_START)));
  out.ascii(',"endTimeUnixNano":');
  int64Str(toUnixNs(load<f64>(slot, S_END)));
  out.byte(0x2c);
  attributes(slot, R_ATTR);
  count("droppedAttributesCount", <i32>load<u16>(slot, S_DATTR));
  nestedList(slot, R_EVENT);
  count("droppedEventsCount", <i32>load<u16>(slot, S_DEVENT));
  nestedList(slot, R_LINK);
  count("droppedLinksCount", <i32>load<u16>(slot, S_DLINK));
  out.ascii(',"status":{');
  const code = load<u8>(slot, S_STATUS);
  if (code == 2) {
    stringRecord(slot, R_STATUS, "message", false);
    out.ascii('"code":2');
  } else if (code == 1) {
    out.ascii('"code":1');
  }
  out.ascii("}}");
}

/** Same contract as the protobuf encoder: bytes written, 0 none, -1 too small. */
export function encodeJson(maxBytes: i32, maxSpans: i32 = i32.MAX_VALUE): i32 {
  const limit = maxBytes < 128 ? 128 : maxBytes > OUT_SIZE ? OUT_SIZE : maxBytes;
  if (maxSpans <= 0) maxSpans = i32.MAX_VALUE; // no bound (an older host passes none)
  let n = 0;
  setEncoded(0);
  for (;;) {
    let i = peekEnded();
    if (i < 0) return 0;
    out.reset(limit - 8);
    out.ascii('{"resourceSpans":[{"resource":{');
    attributes(slotAt(0), R_ATTR);
    count("droppedAttributesCount", <i32>load<u16>(slotAt(0), S_DATTR));
    out.ascii(scopeJson());
    if (out.over) return -1;
    while (i >= 0 && n < maxSpans) {
      const mark = out.pos;
      if (n) out.byte(0x2c);
      span(slotAt(i));
      if (out.over) {
        out.rollback(mark);
        break;
      }
      i = nextEnded(i);
      n++;
    }
    if (n) break;
    if (limit < OUT_SIZE) return -1;
    freeSlot(popEnded());
    countOversize();
  }
  out.setEnd(limit);
  out.ascii("]}]}]}");
  setEncoded(n);
  out.setCount(n);
  return <i32>(out.pos - OUT);
}

