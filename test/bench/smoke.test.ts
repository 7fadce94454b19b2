// Every benchmark once at a tiny size, so a broken benchmark fails CI. The
// figures are not judged here (timed tests would be flaky); only that each
// module runs and returns well-formed, finite, positive figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface Figure {
  name: string;
  unit: string;
  wasmtrace: number;
  rival?: number;
  rivalName?: string;
  ratio?: number;
}
type Outcome = { figures: Figure[] } | { pending: string } | { error: string } | null;
interface Runner {
  benchModules(only?: string[]): Promise<Array<{ name: string; load: () => Promise<unknown> }>>;
  runModule(mod: { name: string; load: () => Promise<unknown> }, opts: { smoke: boolean }): Promise<Outcome>;
}

// Imported by URL so the type checker does not follow into the .mjs files.
const load = async <T>(path: string): Promise<T> => (await import(new URL(path, import.meta.url).href)) as T;

/** Figure names each module of the suite must report (modules of other authors: shape only). */
const EXPECTED: Record<string, string[]> = {
  'node-span': ['per span, Node, real clock', 'per span, Node, clock = counter'],
  'browser-span': ['per span, Chromium, real clock', 'per span, Chromium, clock = counter'],
  memory: ['memory per buffered span (Wasm + JS heap)'],
  pageload: [
    'page-load main-thread time of the SDK, Chromium trace, CPU',
    'page-load main-thread time of the SDK, Chromium trace, wall',
    'longest SDK share of one main-thread task at page load, Chromium trace, CPU',
    'longest SDK share of one main-thread task at page load, Chromium trace, wall',
    'page-load main-thread cost, Chromium, ScriptDuration',
    'page-load main-thread cost, Chromium, TaskDuration',
  ],
};

function checkFigures(bench: string, figures: Figure[]): void {
  assert.ok(figures.length > 0, `${bench}: no figures`);
  for (const f of figures) {
    const where = `${bench} / ${f.name}`;
    assert.equal(typeof f.name, 'string', `${where}: name`);
    assert.equal(typeof f.unit, 'string', `${where}: unit`);
    assert.ok(Number.isFinite(f.wasmtrace) && f.wasmtrace > 0, `${where}: wasmtrace = ${f.wasmtrace}`);
    if (f.rival !== undefined) {
      assert.ok(Number.isFinite(f.rival) && f.rival > 0, `${where}: rival = ${f.rival}`);
      assert.ok(typeof f.rivalName === 'string' && f.rivalName.length > 0, `${where}: rivalName`);
      assert.ok(f.ratio !== undefined && Number.isFinite(f.ratio) && f.ratio > 0, `${where}: ratio = ${f.ratio}`);
    }
  }
  for (const name of EXPECTED[bench] ?? []) {
    const f = figures.find((x) => x.name === name);
    assert.ok(f, `${bench}: missing figure "${name}"`);
    assert.ok(f.rival !== undefined, `${bench}: "${name}" has no rival`);
  }
}

test('every benchmark runs once at a tiny size', { timeout: 280_000 }, async (t) => {
  const runner = await load<Runner>('../../bench/run.mjs');
  const mods = await runner.benchModules();
  for (const name of Object.keys(EXPECTED)) assert.ok(mods.some((m) => m.name === name), `bench/${name}.mjs is missing`);
  for (const mod of mods) {
    await t.test(mod.name, async (st) => {
      const r = await runner.runModule(mod, { smoke: true });
      if (r === null) return st.diagnostic('exports no run(): not a benchmark');
      if ('error' in r) assert.fail(`bench/${mod.name}.mjs failed:\n${r.error}`);
      if ('pending' in r) {
        assert.ok(!(mod.name in EXPECTED), `${mod.name} may not be pending`);
        return st.diagnostic(`pending: ${r.pending}`);
      }
      checkFigures(mod.name, r.figures);
    });
  }
});

test('the size report bundles every target and rival', { timeout: 120_000 }, async () => {
  const size = await load<{ run(): Promise<Figure[]> }>('../../bench/size.mjs');
  const figures = await size.run();
  checkFigures('size', figures);
  const core = figures.find((f) => f.name === 'core size, brotli');
  assert.ok(core?.rival !== undefined, 'core size has no OTel rival');
});
