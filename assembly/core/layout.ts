// Static memory layout. Every buffer the module uses lives here, sized at
// compile time, so the whole linear memory stays within its budget (1 MiB by
// default) and nothing is allocated per span.

// The small areas come first: their addresses are then two-byte constants in the code.
/** Where `start` writes the ids: trace id (16), span id (8), flags (1). */
export const IDS: usize = memory.data(32);
/** The counters `stats` fills. */
export const STATS: usize = memory.data(40);
/** The protobuf encoder's stack of open messages (the address of each one's length). */
export const STACK: usize = memory.data(32 * 4);

/**
 * Record bytes one span may hold. Kept well under the 64 KiB keepalive budget
 * so that every span, encoded alone, fits one page-unload request.
 */
export const MAX_SPAN_BYTES: i32 = 56 * 1024;

/**
 * Bytes the host may write in one call (one-off strings, arrays, ids): as
 * much as a span can hold, so that what fits a span is never cut on the way.
 */
export const IO_SIZE: i32 = MAX_SPAN_BYTES;
/** Host <-> Wasm exchange area: strings in, ids and counters out. */
export const IO: usize = memory.data(IO_SIZE);

/** Interned strings (span names, attribute keys, repeated values). */
export const INTERN_MAX: i32 = 2048;
export const INTERN_BYTES: i32 = 48 * 1024;
/** Per entry: u32 offset into INTERN_DATA, u32 length. */
export const INTERN_INDEX: usize = memory.data(INTERN_MAX * 8);
export const INTERN_DATA: usize = memory.data(INTERN_BYTES);

/** Span slots. Slot 0 holds the resource attributes. */
export const SLOT_SIZE: i32 = 104;
export const SLOTS: i32 = 2048;
export const SLOT_BASE: usize = memory.data(SLOTS * SLOT_SIZE);

/** Blocks of span data (attributes, events, links), chained per span. */
export const BLOCK_SIZE: i32 = 256;
export const BLOCKS: i32 = 1664;
export const BLOCK_BASE: usize = memory.data(BLOCKS * BLOCK_SIZE);
/** The encoded export request, read by the host as a Uint8Array view. */
export const OUT_SIZE: i32 = 128 * 1024;
export const OUT: usize = memory.data(OUT_SIZE);

/** Free lists of slots and blocks (i32 indexes). */
export const FREE_SLOTS: usize = memory.data(SLOTS * 4);
export const FREE_BLOCKS: usize = memory.data(BLOCKS * 4);

// Slot fields (byte offsets inside a slot).
export const S_TRACE: i32 = 0; // 16 bytes, wire order
export const S_SPAN: i32 = 16; // 8 bytes
export const S_PARENT: i32 = 24; // 8 bytes, all zero for a root
export const S_START: i32 = 32; // f64 ms relative to the time origin
export const S_END: i32 = 40; // f64 ms relative to the time origin
export const S_NAME: i32 = 48; // i32 interned name id, -1: a NAME record holds it
export const S_HEAD: i32 = 52; // i32 first block, -1 none
export const S_TAIL: i32 = 56; // i32 block being written
export const S_TAILOFF: i32 = 60; // i32 write offset inside the tail block
export const S_GEN: i32 = 64; // u16 generation, bumped on reuse
export const S_STATE: i32 = 66; // u8 FREE/LIVE/ENDED
export const S_KIND: i32 = 67; // u8 OTLP span kind
export const S_FLAGS: i32 = 68; // u8 W3C trace flags
export const S_STATUS: i32 = 69; // u8 status code
export const S_REMOTE: i32 = 70; // u8 bit 0: parent marked remote (exported); bit 1: parent not a span here
export const S_FAILED: i32 = 71; // u8 1: status ERROR or an exception recorded (tail sampling)
export const S_NATTR: i32 = 72; // u16 attributes stored
export const S_NEVENT: i32 = 74; // u16 events stored
export const S_NLINK: i32 = 76; // u16 links stored
export const S_DATTR: i32 = 78; // u16 attributes dropped
export const S_DEVENT: i32 = 80; // u16 events dropped
export const S_DLINK: i32 = 82; // u16 links dropped
export const S_NESTED: i32 = 84; // i32 address of the last event/link header, 0 none
export const S_NEXT: i32 = 88; // i32 next slot in the ended queue, -1 none
export const S_BYTES: i32 = 92; // i32 bytes of records written
export const S_KEYS: i32 = 96; // u32 bloom of the attribute keys set (bit key & 31)
export const S_HOLD: i32 = 100; // i32 held-trace entry, or HOLD_NONE / HOLD_DROP

export const STATE_FREE: u8 = 0;
export const STATE_LIVE: u8 = 1;
export const STATE_ENDED: u8 = 2;

@inline export function slotAt(i: i32): usize {
  return SLOT_BASE + <usize>(i * SLOT_SIZE);
}

@inline export function blockAt(i: i32): usize {
  return BLOCK_BASE + <usize>(i * BLOCK_SIZE);
}
