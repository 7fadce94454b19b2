// JSON lines when the output refuses writes: WASI runtimes answer fd_write
// with EAGAIN (a non-blocking stdout), EINTR, ENOSPC or EIO and leave
// `nwritten` as it was, or take part of what was asked. Whatever happens,
// every span is either in a line a reader can parse, or counted in the loss
// line on stderr; a cut-off line never glues onto the next one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const LINES = fileURLToPath(new URL('../../dist/demo-wasi-lines.wasm', import.meta.url));
const module = await WebAssembly.compile(readFileSync(LINES));

/** What the host does with the nth fd_write on stdout (1-based); unlisted calls write normally. */
type Fault = { errno: number } | { partial: number };
const EAGAIN = 6;
const EINTR = 27;
const ENOSPC = 51;
const EIO = 29;

/** Runs the lines build under node:wasi with `faults` on stdout's writes; its stdout, stderr and exit code. */
function run(env: Record<string, string>, faults: Map<number, Fault>): { stdout: string; stderr: string; code: number; calls: number } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-output-'));
  try {
    const out = openSync(join(dir, 'out'), 'w+');
    const err = openSync(join(dir, 'err'), 'w+');
    const wasi = new WASI({ version: 'preview1', env, stdout: out, stderr: err, returnOnExit: true });
    const imports = { ...wasi.wasiImport } as Record<string, (...a: number[]) => number>;
    const write = imports.fd_write!;
    let calls = 0;
    let memory: WebAssembly.Memory | undefined;
    imports.fd_write = (fd, iovs, n, nwritten) => {
      if (fd !== 1) return write(fd, iovs, n, nwritten);
      const fault = faults.get(++calls);
      if (!fault) return write(fd, iovs, n, nwritten);
      if ('errno' in fault) return fault.errno; // nwritten untouched, as runtimes leave it
      // Take only the first `partial` bytes of what was asked.
      const view = new DataView(memory!.buffer);
      let left = fault.partial;
      let done = 0;
      for (let i = 0; i < n && left > 0; i++) {
        const ptr = view.getUint32(iovs + 8 * i, true);
        const len = Math.min(view.getUint32(iovs + 8 * i + 4, true), left);
        writeSync(out, new Uint8Array(memory!.buffer, ptr, len));
        done += len;
        left -= len;
      }
      view.setUint32(nwritten, done, true);
      return 0;
    };
    const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports });
    memory = instance.exports.memory as WebAssembly.Memory;
    const code = wasi.start(instance);
    closeSync(out);
    closeSync(err);
    return { stdout: readFileSync(join(dir, 'out'), 'utf8'), stderr: readFileSync(join(dir, 'err'), 'utf8'), code, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The span ids in the lines a reader can parse, and how many lines it cannot. */
function read(stdout: string): { ids: string[]; bad: number } {
  const ids: string[] = [];
  let bad = 0;
  for (const line of stdout.split('\n')) {
    if (!line.length) continue;
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) ids.push(s.spanId);
  }
  return { ids, bad };
}

const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
const lost = (stderr: string) => Number(/wasmtrace: (\d+) spans lost/.exec(stderr)?.[1] ?? 0);

test('EAGAIN/EINTR, which leave nwritten as it was, are retried: one in the first lines loses nothing and breaks no line (fails before: 512 spans glued on one line, unreported)', () => {
  const env = { ORDERS: '200' };
  const clean = run(env, new Map());
  const total = read(clean.stdout).ids.length;
  assert.ok(clean.calls >= 3 && total > 1000, `${clean.calls} writes, ${total} spans`);
  for (const errno of [EAGAIN, EINTR]) {
    for (const at of [1, 2, 3]) {
      const r = run(env, new Map([[at, { errno }]]));
      assert.equal(r.code, 0);
      const { ids, bad } = read(r.stdout);
      assert.equal(bad, 0, `errno ${errno} at write ${at}: ${bad} unreadable lines`);
      assert.equal(new Set(ids).size, total, `errno ${errno} at write ${at}`);
      assert.equal(r.stderr, '', `errno ${errno} at write ${at}`);
    }
  }
});

test('500 generated fault schedules on stdout: every span is in a readable line once, or counted in the loss line (fails before)', () => {
  const r = prng(0x0fd1);
  const env = { ORDERS: '120' };
  const clean = run(env, new Map());
  const total = read(clean.stdout).ids.length;
  assert.ok(clean.calls >= 2, `${clean.calls} writes`);
  let lossy = 0;
  let cut = 0;
  for (let c = 0; c < 500; c++) {
    const faults = new Map<number, Fault>();
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      const at = 1 + Math.floor(r() * (clean.calls + 2));
      const x = r();
      faults.set(at, x < 0.25 ? { errno: EAGAIN } : x < 0.4 ? { errno: EINTR } : x < 0.55 ? { errno: ENOSPC } : x < 0.65 ? { errno: EIO }
        : { partial: Math.floor(r() * 200_000) });
      // A write cut off part-way, then refused.
      if (r() < 0.3) faults.set(at, { partial: Math.floor(r() * 100_000) }).set(at + 1, { errno: pick(r, [ENOSPC, EIO]) });
    }
    const run1 = run(env, faults);
    const label = `case ${c}: ${JSON.stringify([...faults])}`;
    const { ids, bad } = read(run1.stdout);
    assert.equal(new Set(ids).size, ids.length, `${label}: a span twice`);
    const loss = lost(run1.stderr);
    assert.equal(run1.code, loss ? 1 : 0, `${label}: the demo job's exit code says whether spans were lost`);
    assert.equal(ids.length + loss, total, `${label}: ${ids.length} read + ${loss} reported lost`);
    const refused = [...faults.values()].some((f) => 'errno' in f && (f.errno === ENOSPC || f.errno === EIO));
    if (!refused) assert.equal(loss + bad, 0, `${label}: only retryable faults`);
    if (loss) lossy++;
    if (bad) cut++;
  }
  assert.ok(lossy > 100 && cut > 20, `${lossy} cases lost spans, ${cut} left a cut-off line`);
});
