// Memory per buffered span: spans ended but not yet exported, 3 attributes each.
// - OpenTelemetry JS: the JS heap delta per span (BatchSpanProcessor's queue).
// - wasmtrace: spans live in a fixed 1 MiB Wasm memory; the figure is the Wasm
//   bytes a span actually takes (its 96 B slot plus its share of the 256 B data
//   blocks, from how many spans fit before anything drops), plus the JS heap
//   delta per span. Each sample is a fresh `node --expose-gc` child; the two
//   SDKs' children alternate.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { figure, median } from './lib/figure.mjs';
import { interleave } from './lib/interleave.mjs';
import { OTEL_NAME } from './lib/otel.mjs';
import { root } from './lib/paths.mjs';

const child = fileURLToPath(new URL('lib/memory-child.mjs', import.meta.url));
const sample = (sdk, n) =>
  JSON.parse(execFileSync(process.execPath, ['--expose-gc', child, sdk, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 }));

/** SLOT_SIZE, SLOTS, BLOCK_SIZE, BLOCKS from assembly/core/layout.ts. */
function layout() {
  const src = readFileSync(new URL('assembly/core/layout.ts', root), 'utf8');
  const get = (name) => {
    const m = new RegExp(`export const ${name}: i32 = ([0-9 *]+);`).exec(src);
    if (!m) throw new Error(`assembly/core/layout.ts: ${name} not found`);
    return m[1].split('*').reduce((a, b) => a * Number(b.trim()), 1);
  };
  return { slotSize: get('SLOT_SIZE'), slots: get('SLOTS'), blockSize: get('BLOCK_SIZE'), blocks: get('BLOCKS') };
}

export async function run({ smoke = false } = {}) {
  const n = smoke ? 200 : 1000; // under wasmtrace's capacity, so nothing is exported or dropped
  const rounds = smoke ? 1 : 5;
  const samples = { wasmtrace: [], otel: [] };
  const raw = await interleave(
    {
      wasmtrace: () => (samples.wasmtrace.push(sample('wasmtrace', n)), 0),
      otel: () => (samples.otel.push(sample('otel', n * 2)), 0),
    },
    { rounds, warmup: 0 },
  );
  void raw;
  const L = layout();
  const capacity = samples.wasmtrace[0].capacity;
  // Every span takes a slot; data blocks are the scarcer pool when capacity < slots.
  const blocksPerSpan = Math.max(1, L.blocks / capacity);
  const wasmPerSpan = L.slotSize + (capacity < L.slots - 1 ? L.blocks / capacity : blocksPerSpan) * L.blockSize;
  const ourHeap = samples.wasmtrace.map((s) => s.heapPerSpan);
  const theirHeap = samples.otel.map((s) => s.heapPerSpan);
  const heapMedian = median(ourHeap);
  return [
    figure({
      name: 'memory per buffered span (Wasm + JS heap)', unit: 'B/span',
      // A negative heap delta is GC noise: count it as zero, never below the Wasm bytes.
      ours: ourHeap.map((h) => wasmPerSpan + Math.max(0, h)), theirs: theirHeap, rivalName: OTEL_NAME,
      note: `Wasm ${Math.round(wasmPerSpan)} B (slot ${L.slotSize} B + data blocks of ${L.blockSize} B) + JS heap ${heapMedian.toFixed(1)} B; ` +
        `${capacity} such spans fit in the fixed Wasm memory; heapUsed delta in a --expose-gc child`,
    }),
    figure({ name: 'spans buffered before drops (fixed Wasm memory)', unit: 'spans', better: 'higher', ours: [capacity] }),
  ];
}
