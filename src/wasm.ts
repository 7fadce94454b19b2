// The Wasm module's exports (assembly/core/abi.ts) and how it is loaded: from
// a URL (streaming where the server sends application/wasm), from bytes, or
// from a precompiled WebAssembly.Module (Workers forbid compiling at run time).

// The declarations (dist/types) name no `WebAssembly` type: only lib.dom
// declares that namespace, and a Node project without it must type-check them.

/** A compiled module (a `WebAssembly.Module`, e.g. a Workers `.wasm` import), by shape. */
export type WasmModule = object;

/** The raw exports. Every argument and result is a number. */
export interface WasmExports {
  /** The module's memory: fixed size, so views over its buffer never detach. */
  readonly memory: { readonly buffer: ArrayBuffer };
  io(): number;
  /** IO_SIZE as the module was built; missing before 0.1.0's 56 KiB area. */
  ioSize?(): number;
  ids(): number;
  out(): number;
  seed(): void;
  pin(s0: number, s1: number): void;
  intern(len: number): number;
  configure(originMs: number, ratio: number, attrs: number, events: number, links: number, nested: number): void;
  start(nameId: number, kind: number, flags: number, t0: number, t1: number, t2: number, t3: number, p0: number, p1: number, startMs: number): number;
  attr(h: number, keyId: number, vtype: number, num: number, len: number): number;
  event(h: number, nameId: number, timeMs: number, len: number): number;
  link(h: number, t0: number, t1: number, t2: number, t3: number, s0: number, s1: number, flags: number, len: number): number;
  rename(h: number, nameId: number, len: number): number;
  status(h: number, code: number, len: number): number;
  tracestate(h: number, len: number): number;
  /** 1 (OK), or HELD while spans wait for their trace's decision; 0 for a bad handle. */
  end(h: number, endMs: number): number;
  flagError(h: number): number;
  sampling(keepErrors: number, slowMs: number, maxHoldMs: number): void;
  settle(nowMs: number, all: number): void;
  /** When the oldest trace holding spans reaches maxHoldMs (ms, the clock's), or -1 when none is held. */
  holdDue(): number;
  encode(maxBytes: number, maxSpans: number): number;
  pending(): number;
  commit(): void;
  stats(): number;
}

/** Where the module comes from. */
export type WasmSource = string | URL | Response | ArrayBuffer | ArrayBufferView | WasmModule;

/** Bytes the module reserves for one-off strings per call (IO_SIZE, also the most one span holds). */
export const IO_SIZE = 56 * 1024;
/** Largest request body the module encodes (OUT_SIZE). */
export const OUT_SIZE = 128 * 1024;

// Attribute value types (assembly/core/span.ts).
export const V_STR = 1;
export const V_BOOL = 2;
export const V_INT = 3;
export const V_DBL = 4;
export const V_ARR_STR = 6;
export const V_ARR_BOOL = 7;
export const V_ARR_INT = 8;
export const V_ARR_DBL = 9;
/** What `end` returns instead of 1 while spans wait for their trace's decision. */
export const HELD = 2;
/** Added to a key id: the attribute belongs to the last event or link. */
export const NESTED = 1 << 24;
/** In place of a key id, plus the key's UTF-8 length: its bytes follow the value in the IO area. */
export const INLINE = 1 << 25;

/** Compiles and instantiates the module; rejects on failure (the caller contains it). */
export async function instantiate(source: WasmSource): Promise<WasmExports> {
  let instance: WebAssembly.Instance;
  if (source instanceof WebAssembly.Module) {
    instance = await WebAssembly.instantiate(source, {});
  } else if (typeof source === 'string' || source instanceof URL || isResponse(source)) {
    const response = isResponse(source) ? source : await fetch(source);
    if (!response.ok) throw new Error(`wasmtrace: loading ${response.url || String(source)} failed with ${response.status}`);
    instance = await instantiateResponse(response);
  } else {
    const view = source as ArrayBuffer | ArrayBufferView; // what is left of WasmSource (anything else fails to compile)
    const bytes = view instanceof ArrayBuffer ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes as BufferSource), {});
  }
  return instance.exports as unknown as WasmExports;
}

function isResponse(x: unknown): x is Response {
  return typeof Response !== 'undefined' && x instanceof Response;
}

// instantiateStreaming needs Content-Type: application/wasm exactly; anything
// else fails with a TypeError, so fall back to the bytes (docs/platform.md).
async function instantiateResponse(response: Response): Promise<WebAssembly.Instance> {
  if (typeof WebAssembly.instantiateStreaming === 'function' && response.headers.get('content-type') === 'application/wasm') {
    try {
      return (await WebAssembly.instantiateStreaming(response.clone(), {})).instance;
    } catch (e) {
      if (e instanceof WebAssembly.CompileError) throw e; // CSP refusal: no point retrying
    }
  }
  return WebAssembly.instantiate(await WebAssembly.compile(await response.arrayBuffer()), {});
}
