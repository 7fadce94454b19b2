// The span pool: fixed slots, and chains of fixed blocks that hold each span's
// records (attributes, events, links, one-off strings). Nothing here grows:
// when slots or blocks run out the caller drops the data and counts it.
import {
  BLOCK_SIZE, BLOCKS, FREE_BLOCKS, FREE_SLOTS, MAX_SPAN_BYTES, SLOTS, SLOT_SIZE,
  S_BYTES, S_GEN, S_HEAD, S_NESTED, S_NEXT, S_STATE, S_TAIL, S_TAILOFF,
  STATE_FREE, blockAt, slotAt,
} from "./layout";
import { copyBytes } from "./out";

// Record types. A record's header is contiguous; its payload may cross blocks.
export const R_ATTR: u8 = 1; // span attribute
export const R_NATTR: u8 = 2; // attribute of the preceding event or link
export const R_EVENT: u8 = 3;
export const R_LINK: u8 = 4;
export const R_NAME: u8 = 5; // one-off span name
export const R_STATUS: u8 = 6; // status message
export const R_STATE: u8 = 7; // tracestate
export const R_DEAD: u8 = 0x80; // flag: record replaced, skip it
export const R_BLOCK_END: u8 = 0x7f; // rest of this block is unused

/** Header sizes: ATTR/NATTR 8, EVENT 24, LINK 40, strings 8. */
export const H_ATTR: i32 = 8;
export const H_EVENT: i32 = 24;
export const H_LINK: i32 = 40;
export const H_STR: i32 = 8;

const DATA: i32 = BLOCK_SIZE - 4; // usable bytes of a block after its link

let freeSlotTop: i32 = 0;
let freeBlockTop: i32 = 0;
let endedHead: i32 = -1;
let endedTail: i32 = -1;
let endedCount: i32 = 0;

export function initPool(): void {
  // Slot 0 is the resource; slots are handed out from 1 upwards.
  freeSlotTop = 0;
  for (let i = SLOTS - 1; i >= 1; i--) {
    store<i32>(FREE_SLOTS + <usize>(freeSlotTop++ << 2), i);
  }
  freeBlockTop = 0;
  for (let i = BLOCKS - 1; i >= 0; i--) {
    store<i32>(FREE_BLOCKS + <usize>(freeBlockTop++ << 2), i);
  }
  resetSlot(slotAt(0));
}

/**
 * Clears a slot to its empty state, keeping its generation (plus `bump`):
 * zeros, but no head or tail block (-1), the tail offset at the block's end,
 * and no next span (-1). Thirteen stores: a memory.fill is a call out of the
 * Wasm code in V8, and this runs for every span started.
 */
@inline export function resetSlot(slot: usize, bump: i32 = 0): void {
  // The stores below assume this layout: a 104-byte slot, the generation the
  // only field kept, and these fields not zero.
  if (SLOT_SIZE != 104 || S_GEN != 64 || S_HEAD != 52 || S_TAIL != 56 || S_TAILOFF != 60 || S_NEXT != 88) {
    ERROR("resetSlot: the slot layout changed");
  }
  const gen = <u64>((<i32>load<u16>(slot, S_GEN) + bump) & 0xffff);
  store<u64>(slot, 0);
  store<u64>(slot, 0, 8);
  store<u64>(slot, 0, 16);
  store<u64>(slot, 0, 24);
  store<u64>(slot, 0, 32);
  store<u64>(slot, 0, 40);
  store<u64>(slot, 0xffffffff_00000000, 48); // S_NAME 0, S_HEAD -1
  store<u64>(slot, (<u64>BLOCK_SIZE << 32) | 0xffffffff, 56); // S_TAIL -1, S_TAILOFF
  store<u64>(slot, gen, 64); // S_GEN; state, kind, flags, status, remote, failed 0
  store<u64>(slot, 0, 72);
  store<u64>(slot, 0, 80);
  store<u64>(slot, 0xffffffff, 88); // S_NEXT -1, S_BYTES 0
  store<u64>(slot, 0, 96);
}

/** A free slot index, or -1 when the pool is full; its generation is bumped (old handles no longer match). */
@inline export function allocSlot(): i32 {
  if (freeSlotTop == 0) return -1;
  const i = load<i32>(FREE_SLOTS + <usize>(--freeSlotTop << 2));
  resetSlot(slotAt(i), 1);
  return i;
}

/** Returns a slot and its blocks to the free lists. */
export function freeSlot(i: i32): void {
  freeSlotAt(i);
}

/** freeSlot, inlined where every exported span is freed (freeEncoded). */
@inline function freeSlotAt(i: i32): void {
  const slot = slotAt(i);
  releaseBlocks(slot);
  store<u8>(slot, STATE_FREE, S_STATE);
  store<i32>(FREE_SLOTS + <usize>(freeSlotTop++ << 2), i);
}

@inline export function releaseBlocks(slot: usize): void {
  let b = load<i32>(slot, S_HEAD);
  while (b >= 0) {
    const next = load<i32>(blockAt(b));
    store<i32>(FREE_BLOCKS + <usize>(freeBlockTop++ << 2), b);
    b = next;
  }
  store<i32>(slot, -1, S_HEAD);
  store<i32>(slot, -1, S_TAIL);
  store<i32>(slot, BLOCK_SIZE, S_TAILOFF);
  store<i32>(slot, 0, S_NESTED);
  store<i32>(slot, 0, S_BYTES);
}

export function freeSlotCount(): i32 {
  return freeSlotTop;
}

/** The block `allocBlock` would hand out next, or -1 when none is free. */
export function peekFreeBlock(): i32 {
  return freeBlockTop ? load<i32>(FREE_BLOCKS + <usize>((freeBlockTop - 1) << 2)) : -1;
}

export function freeBlockCount(): i32 {
  return freeBlockTop;
}

function allocBlock(): i32 {
  if (freeBlockTop == 0) return -1;
  const b = load<i32>(FREE_BLOCKS + <usize>(--freeBlockTop << 2));
  store<i32>(blockAt(b), -1);
  return b;
}

function linkNewBlock(slot: usize): i32 {
  const b = allocBlock();
  const tail = load<i32>(slot, S_TAIL);
  if (tail < 0) {
    store<i32>(slot, b, S_HEAD);
  } else {
    const off = load<i32>(slot, S_TAILOFF);
    if (off < BLOCK_SIZE) store<u8>(blockAt(tail) + <usize>off, R_BLOCK_END);
    store<i32>(blockAt(tail), b);
  }
  store<i32>(slot, b, S_TAIL);
  store<i32>(slot, 4, S_TAILOFF);
  return b;
}

/**
 * Makes room for a record of `header` contiguous bytes plus `payload` bytes
 * that may cross blocks. Returns the header's address, or 0 when the blocks
 * needed are not free or the span would exceed MAX_SPAN_BYTES (nothing is
 * changed then). The caller fills the header
 * and then calls `commitHeader` and `writePayload`.
 */
export function reserve(slot: usize, header: i32, payload: i32): usize {
  if (load<i32>(slot, S_BYTES) + header + payload > MAX_SPAN_BYTES) return 0;
  let off = load<i32>(slot, S_TAILOFF);
  let need: i32 = 0;
  if (off + header > BLOCK_SIZE) {
    need = 1;
    off = 4;
  }
  const spill = off + header + payload - BLOCK_SIZE;
  if (spill > 0) need += (spill + DATA - 1) / DATA;
  if (need > freeBlockTop) return 0;
  if (load<i32>(slot, S_TAILOFF) + header > BLOCK_SIZE) linkNewBlock(slot);
  return blockAt(load<i32>(slot, S_TAIL)) + <usize>load<i32>(slot, S_TAILOFF);
}

export function commitHeader(slot: usize, header: i32): void {
  store<i32>(slot, load<i32>(slot, S_TAILOFF) + header, S_TAILOFF);
  store<i32>(slot, load<i32>(slot, S_BYTES) + header, S_BYTES);
}

/** Appends `n` bytes from `src`, crossing into blocks reserved beforehand. */
export function writePayload(slot: usize, src: usize, n: i32): void {
  store<i32>(slot, load<i32>(slot, S_BYTES) + n, S_BYTES);
  const off = load<i32>(slot, S_TAILOFF);
  if (off + n <= BLOCK_SIZE) {
    // within the tail block: the common case
    copyBytes(blockAt(load<i32>(slot, S_TAIL)) + <usize>off, src, n);
    store<i32>(slot, off + n, S_TAILOFF);
    return;
  }
  while (n > 0) {
    let off = load<i32>(slot, S_TAILOFF);
    if (off >= BLOCK_SIZE) {
      linkNewBlock(slot);
      off = 4;
    }
    const tail = load<i32>(slot, S_TAIL);
    const room = BLOCK_SIZE - off;
    const k = n < room ? n : room;
    memory.copy(blockAt(tail) + <usize>off, src, k);
    store<i32>(slot, off + k, S_TAILOFF);
    src += k;
    n -= k;
  }
}

// ---- Reading records back ------------------------------------------------

/** The reader's position: block index and byte offset inside it. */
export let rBlock: i32 = -1;
export let rOff: i32 = 0;
let rEndBlock: i32 = -1;
let rEndOff: i32 = 0;

/** Starts reading the records of `slot`. */
export function openRecords(slot: usize): void {
  rBlock = load<i32>(slot, S_HEAD);
  rOff = 4;
  rEndBlock = load<i32>(slot, S_TAIL);
  rEndOff = load<i32>(slot, S_TAILOFF);
}

/** Address of the next record's header, or 0 at the end. */
export function nextRecord(): usize {
  while (rBlock >= 0) {
    if (rBlock == rEndBlock && rOff >= rEndOff) return 0;
    if (rOff >= BLOCK_SIZE || load<u8>(blockAt(rBlock) + <usize>rOff) == R_BLOCK_END) {
      rBlock = load<i32>(blockAt(rBlock));
      rOff = 4;
      continue;
    }
    return blockAt(rBlock) + <usize>rOff;
  }
  return 0;
}

/** nextRecord, with its common case (the rest of the same block) inline. */
@inline export function next(): usize {
  if (rBlock == rEndBlock && rOff >= rEndOff) return 0;
  if (rBlock >= 0 && rOff < BLOCK_SIZE) {
    const p = blockAt(rBlock) + <usize>rOff;
    if (load<u8>(p) != R_BLOCK_END) return p;
  }
  return nextRecord();
}

/** Header bytes by record type (R_DEAD aside; R_BLOCK_END is never read as a record). */
const HEADER_SIZE: usize = memory.data<u8>([
  0, <u8>H_ATTR, <u8>H_ATTR, <u8>H_EVENT, <u8>H_LINK, <u8>H_STR, <u8>H_STR, <u8>H_STR,
]);

export function headerSize(type: u8): i32 {
  return load<u8>(HEADER_SIZE + <usize>(type & 7));
}

/** Payload bytes that follow a record's header: an attribute's capacity, a string's length. */
@inline function payloadSize(rec: usize): i32 {
  return <i32>load<u16>(rec, 4);
}

/** Moves the reader `n` bytes on inside its block. */
@inline export function advance(n: i32): void {
  rOff += n;
}

/** Moves past the header of the record at the reader's position. */
export function skipHeader(rec: usize): void {
  rOff += headerSize(load<u8>(rec));
}

/**
 * Moves the reader over the next `n` payload bytes, copying them to `mem`
 * (mem 0: skips them), or over them from `mem` when `write`.
 */
export function readPayload(mem: usize, n: i32, write: bool = false): void {
  while (n > 0) {
    if (rOff >= BLOCK_SIZE) {
      rBlock = load<i32>(blockAt(rBlock));
      rOff = 4;
    }
    const room = BLOCK_SIZE - rOff;
    const k = n < room ? n : room;
    if (mem) {
      const at = blockAt(rBlock) + <usize>rOff;
      if (write) memory.copy(at, mem, k);
      else memory.copy(mem, at, k);
      mem += k;
    }
    rOff += k;
    n -= k;
  }
}

/** Whether the payload of the record at the reader's position begins with the `n` bytes at `src`. */
export function payloadStarts(rec: usize, src: usize, n: i32): bool {
  if (n > <i32>load<u16>(rec, 6)) return false;
  let b = rBlock;
  let off = rOff + headerSize(load<u8>(rec));
  for (let i = 0; i < n; i++, off++) {
    if (off >= BLOCK_SIZE) {
      b = load<i32>(blockAt(b));
      off = 4;
    }
    if (load<u8>(blockAt(b) + <usize>off) != load<u8>(src + <usize>i)) return false;
  }
  return true;
}

/** Skips a whole record (header and payload). */
export function skipRecord(rec: usize): void {
  const size = headerSize(load<u8>(rec)) + payloadSize(rec);
  if (rOff + size <= BLOCK_SIZE) {
    rOff += size; // within the block: the common case
    return;
  }
  skipHeader(rec);
  readPayload(0, size - headerSize(load<u8>(rec)));
}

/** The first record of `type` in `slot`, leaving the reader on it; else 0. */
export function findRecord(slot: usize, type: u8): usize {
  openRecords(slot);
  let rec = nextRecord();
  while (rec) {
    if (load<u8>(rec) == type) return rec;
    skipRecord(rec);
    rec = nextRecord();
  }
  return 0;
}

// ---- The queue of ended spans, oldest first --------------------------------

@inline export function pushEnded(i: i32): void {
  const slot = slotAt(i);
  store<i32>(slot, -1, S_NEXT);
  if (endedTail >= 0) store<i32>(slotAt(endedTail), i, S_NEXT);
  else endedHead = i;
  endedTail = i;
  endedCount++;
}

export function peekEnded(): i32 {
  return endedHead;
}

@inline export function popEnded(): i32 {
  const i = endedHead;
  if (i < 0) return -1;
  endedHead = load<i32>(slotAt(i), S_NEXT);
  if (endedHead < 0) endedTail = -1;
  endedCount--;
  return i;
}

/** The ended span after `i`, oldest first; -1 after the newest. */
export function nextEnded(i: i32): i32 {
  return load<i32>(slotAt(i), S_NEXT);
}

/**
 * Spans the last encode wrote, still in the queue: the host frees them
 * (`freeEncoded`) once it holds their bytes. A host cut off in between (a
 * page's pagehide handler ended by the browser) loses nothing: the next
 * encode writes them again.
 */
let encodedSpans: i32 = 0;

export function setEncoded(n: i32): void {
  encodedSpans = n;
}

export function freeEncoded(): void {
  while (encodedSpans > 0) {
    encodedSpans--;
    freeSlotAt(popEnded());
  }
}

export function endedSpans(): i32 {
  return endedCount;
}
