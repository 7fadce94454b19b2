// Memory per buffered span: spans ended but not yet exported, 3 attributes each.
// - OpenTelemetry JS: the JS heap delta per span (BatchSpanProcessor's queue).
// - wasmtrace: spans live in a fixed 1 MiB Wasm memory; the figure is the Wasm
//   bytes a span takes (its slot plus the one data block its name and 3
//   attributes fill, assembly/core/layout.ts), plus the JS heap delta per span.
// Each sample is a fresh `node --expose-gc` child (the median of its rounds,
// after a warm-up: lib/memory-child.mjs); the two SDKs' children alternate.
// Also: how many spans wasmtrace keeps before its first drop while the
// collector never answers (the Wasm pool, then encoded batches up to
// maxQueueBytes).
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
  const wasmPerSpan = L.slotSize + L.blockSize;
  const ourHeap = samples.wasmtrace.map((s) => s.heapPerSpan);
  const theirHeap = samples.otel.map((s) => s.heapPerSpan);
  const heapMedian = median(ourHeap);
  return [
    figure({
      name: 'memory per buffered span (Wasm + JS heap)', unit: 'B/span',
      // A negative heap delta is GC noise: count it as zero, never below the Wasm bytes.
      ours: ourHeap.map((h) => wasmPerSpan + Math.max(0, h)), theirs: theirHeap, rivalName: OTEL_NAME,
      note: `Wasm ${Math.round(wasmPerSpan)} B (a ${L.slotSize} B slot + a ${L.blockSize} B data block; ${L.slots} slots, ${L.blocks} blocks) + JS heap ${heapMedian.toFixed(1)} B; ` +
        'heapUsed delta in a --expose-gc child, median of its rounds after a warm-up',
    }),
    figure({ name: 'spans kept before the first drop, collector not answering (Wasm pool, then maxQueueBytes of batches)', unit: 'spans', better: 'higher', ours: [capacity] }),
  ];
}
