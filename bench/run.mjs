// `npm run bench`: runs every benchmark module in bench/ and prints one table;
// writes it with the machine it came from to bench/results/latest.json and a
// dated copy. `node bench/run.mjs --smoke` runs each once at a tiny size;
// `node bench/run.mjs node-span memory` runs only the named modules.
//
// For authors of bench modules — the contract (see bench/lib/figure.mjs):
//   bench/<name>.mjs exports `async function run({ smoke })` resolving to an
//   array of figures (or `{ figures: [...] }`), each
//     { name, unit, wasmtrace, rival?, rivalName?, ratio?, better?, spread?, rounds?, note? }
//   - wasmtrace / rival: the median over rounds, finite and > 0, in `unit`;
//   - ratio: how many times better wasmtrace is (rival / wasmtrace when lower
//     is better, the default; wasmtrace / rival with better: 'higher');
//   - spread: { wasmtrace, rival, ratio } as (max - min) / median in percent.
//   Build figures with `figure({ name, unit, ours: samples[], theirs: samples[], rivalName })`
//   from bench/lib/figure.mjs, with samples from `interleave()` in
//   bench/lib/interleave.mjs so each round runs both SDKs back to back.
//   `smoke: true` must finish in seconds: it is what `npm test` runs.
//   A module that cannot measure yet (a target not built) returns
//   `{ pending: 'why' }`; it prints as "pending" and does not fail the run.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkFigure } from './lib/figure.mjs';
import { machine } from './lib/machine.mjs';
import { writeResult } from './lib/results.mjs';
import { machineLine, textTable } from './lib/table.mjs';

const here = new URL('./', import.meta.url);
const SKIP = new Set(['run.mjs', 'size.mjs']);

/** Every bench/*.mjs module that exports run(), by name, in a stable order. */
export async function benchModules(only = []) {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.mjs') && !f.startsWith('.') && !SKIP.has(f))
    .sort();
  const mods = [];
  for (const f of files) {
    const name = f.replace(/\.mjs$/, '');
    if (only.length && !only.includes(name)) continue;
    mods.push({ name, load: () => import(new URL(f, here).href) });
  }
  return mods;
}

/** Runs one module; returns `{ figures }`, `{ pending }` or `{ error }`. */
export async function runModule(mod, { smoke }) {
  try {
    const m = await mod.load();
    if (typeof m.run !== 'function') return null;
    const result = await m.run({ smoke });
    if (result && !Array.isArray(result) && typeof result.pending === 'string') return { pending: result.pending };
    const figures = Array.isArray(result) ? result : result?.figures;
    if (!Array.isArray(figures) || figures.length === 0) throw new Error('run() returned no figures');
    figures.forEach(checkFigure);
    return { figures };
  } catch (e) {
    return { error: e instanceof Error ? e.stack ?? e.message : String(e) };
  }
}

async function main() {
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const only = args.filter((a) => !a.startsWith('--'));
  const groups = {};
  let failed = 0;
  for (const mod of await benchModules(only)) {
    const t0 = performance.now();
    process.stderr.write(`[bench] ${mod.name} ...`);
    const r = await runModule(mod, { smoke });
    if (!r) {
      process.stderr.write(' no run(), skipped\n');
      continue;
    }
    process.stderr.write(` ${r.error ? 'FAILED' : r.pending ? 'pending' : 'ok'} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    if (r.error) {
      failed++;
      console.error(`[bench] ${mod.name} failed:\n${r.error}`);
    }
    groups[mod.name] = r;
  }
  const m = machine();
  console.log(`\n${machineLine(m)}\n`);
  console.log(textTable(groups));
  console.log('\nratio: how many times better wasmtrace is; spread: ±half of (max − min) / median over rounds.');
  if (!smoke && !only.length) {
    const paths = writeResult('', { machine: m, smoke, benches: groups });
    console.log(`\nwrote ${paths.join(' and ')}`);
  }
  if (failed) {
    console.error(`\n[bench] ${failed} benchmark(s) failed`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
