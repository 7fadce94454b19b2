// Trace and span ids: xoshiro256** seeded from host entropy. Ids are never all
// zero (W3C Trace Context forbids it).
let s0: u64 = 0x9e3779b97f4a7c15;
let s1: u64 = 0xbf58476d1ce4e5b9;
let s2: u64 = 0x94d049bb133111eb;
let s3: u64 = 0x2545f4914f6cdd1d;

/** Mixes 32 bytes of entropy (at `src`) into the generator state. */
export function seedFrom(src: usize): void {
  s0 ^= load<u64>(src);
  s1 ^= load<u64>(src, 8);
  s2 ^= load<u64>(src, 16);
  s3 ^= load<u64>(src, 24);
  if ((s0 | s1 | s2 | s3) == 0) s0 = 0x9e3779b97f4a7c15;
}

@inline export function next64(): u64 {
  const result = rotl<u64>(s1 * 5, 7) * 9;
  const t = s1 << 17;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u64>(s3, 45);
  return result;
}

/** Writes a new 16-byte trace id at `dst`. */
export function newTraceId(dst: usize): void {
  let a: u64, b: u64;
  do {
    a = next64();
    b = next64();
  } while ((a | b) == 0);
  store<u64>(dst, a);
  store<u64>(dst, b, 8);
}

/** A span id the host gave out before this module existed; 0: none. */
let pinned: u64 = 0;

/** The next span id will be `id` (wire bytes as a little-endian u64) instead of a new one. */
export function pinSpanId(id: u64): void {
  pinned = id;
}

/** Writes a new 8-byte span id at `dst` (or the pinned one, once). */
export function newSpanId(dst: usize): void {
  let a = pinned;
  pinned = 0;
  while (a == 0) a = next64();
  store<u64>(dst, a);
}

/** The W3C/OpenTelemetry randomness value: the trace id's last 7 bytes, big-endian. */
@inline export function randomness(traceId: usize): u64 {
  return bswap<u64>(load<u64>(traceId, 8)) & 0x00ff_ffff_ffff_ffff;
}
