// A span the script tag defers (started before the Wasm is ready) answers
// isRecording() as the real span does at the same point of its life: the
// same span before and after ready, and spans started after ready, for
// generated plans (ended or not, root or child, sampled or not at ratio 0.5).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inBothBrowsers, openPage, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

interface Step { end: boolean; root: boolean; child: boolean }
interface Seen { open: boolean; after: boolean; sampled: boolean; end: boolean }

const plan = (seed: number, n: number): Step[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({ end: r() < 0.7, root: r() < 0.3, child: r() < 0.3 }));
};

/** Runs `plan` on `t` (window.wasmtrace, or the tracer): isRecording() before and after each span's end. */
const RUN = `(t, plan) => {
  let last;
  return plan.map((p, i) => {
    const s = t.startSpan('s' + i, p.root ? { root: true } : undefined, p.child && last ? last : undefined);
    const open = s.isRecording();
    if (p.end) s.end();
    (window.kept ??= []).push(s);
    last = s;
    return { open, after: s.isRecording(), sampled: (s.spanContext().traceFlags & 1) === 1, end: p.end };
  });
}`;

async function asTheRealSpan(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const steps = plan(5150, 60);
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>deferred</title>
        <script src="/wasmtrace.js" data-service-name="deferred" data-endpoint="${c.url}" data-sample-ratio="0.5"
          data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
        <script>window.before = (${RUN})(wasmtrace, ${JSON.stringify(steps)});</script>`,
      '/wasmtrace.js': { body: readFileSync(join(dist, 'wasmtrace.js')), type: 'text/javascript' },
      '/wasmtrace.wasm': { body: readFileSync(join(dist, 'wasmtrace.wasm')), type: 'application/wasm' },
    },
  });
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const deferred = window.kept.slice();
      const tracer = await wasmtrace.ready;
      const later = deferred.map((s) => s.isRecording());
      const real = (${RUN})(tracer, ${JSON.stringify(steps)});
      return { before: window.before, later, real };
    })()`)) as { before: Seen[]; later: boolean[]; real: Seen[] };
    assert.deepEqual(errors, []);
    // The same span, in the same state, before and after ready.
    r.before.forEach((b, i) => assert.equal(b.after, r.later[i], `span ${i} (${JSON.stringify(steps[i])}): isRecording() before ready ${b.after}, after ${r.later[i]}`));
    // Deferred spans and real ones, by sampled and ended.
    const truth = new Map<string, boolean>();
    for (const s of r.real) {
      truth.set(`${s.sampled} open`, s.open);
      truth.set(`${s.sampled} ${s.end ? 'ended' : 'open'}`, s.after);
    }
    assert.ok(truth.size >= 3, 'the real spans cover sampled and not, ended and open');
    for (const [i, b] of r.before.entries()) {
      const open = truth.get(`${b.sampled} open`);
      const after = truth.get(`${b.sampled} ${b.end ? 'ended' : 'open'}`);
      if (open !== undefined) assert.equal(b.open, open, `span ${i} before its end`);
      if (after !== undefined) assert.equal(b.after, after, `span ${i} ${b.end ? 'after its end' : 'open'}`);
    }
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('a deferred span\'s isRecording() is the real span\'s, before and after ready (60 generated spans)', asTheRealSpan);
