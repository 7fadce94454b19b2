// A Node script or job that ends without calling shutdown(): its spans leave
// when the event loop empties ('beforeExit'), and the process still exits
// promptly, with the collector up, hanging, or gone. Each case is a real
// child process running dist/node.js, the way a user's script imports it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startCollector, type Collector } from '../helpers/collector.js';
import { allSpans } from '../helpers/otlp.js';

const nodeEntry = fileURLToPath(new URL('../../dist/node.js', import.meta.url));

let collector: Collector;
before(async () => {
  collector = await startCollector({ respond: (r) => (r.headers['x-case'] === 'hang' ? { hang: true } : r.headers['x-case'] === 'reject' ? { status: 401 } : {}) });
});
after(() => collector.close());

/**
 * Runs a child that makes `spans` spans named after `name` with `body` around
 * them, then lets its event loop empty; resolves to its exit code and run time.
 */
function child(name: string, spans: number, options: Record<string, unknown>, body = ''): Promise<{ code: number | null; ms: number; out: string }> {
  return run(`
    const { init } = await import(${JSON.stringify(nodeEntry)});
    const tracer = await init(${JSON.stringify({ serviceName: name, ...options })});
    for (let i = 0; i < ${spans}; i++) tracer.startSpan(${JSON.stringify(name)} + '-' + i).end();
    ${body}
  `);
}

/** Runs `script` as an ES module in a child Node (with `gc()`); resolves to its exit code, run time and output. */
function run(script: string): Promise<{ code: number | null; ms: number; out: string }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const c = execFile(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { timeout: 20_000, env: {} }, (err, stdout, stderr) => {
      resolve({ code: c.exitCode ?? (err ? 1 : 0), ms: Date.now() - t0, out: stdout + stderr });
    });
  });
}

/**
 * Child code: collects garbage until `done` or 20 rounds, letting finalizers
 * run between rounds. Each gc() starts a new job: a WeakRef read by `done`
 * keeps its target alive to the end of the job it is read in.
 */
const collect = (done: string) =>
  `for (let i = 0; i < 20; i++) { await new Promise((r) => setTimeout(r, 20)); gc(); await new Promise((r) => setTimeout(r, 0)); if (${done}) break; }`;

/**
 * A 127.0.0.1 port that accepts every connection and never answers (a stuck
 * collector or proxy): only the sender's own timeout ends a request.
 */
async function silentServer(): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const exported = (name: string) => collector.spans().filter((s) => s.resource['service.name'] === name).map((s) => s.name).sort();
const expected = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}-${i}`).sort();

test('a script that never calls shutdown(): every span is exported before the process exits', async () => {
  const r = await child('job-a', 25, { endpoint: collector.url });
  assert.equal(r.code, 0, r.out);
  // The export was answered before the child exited: nothing to wait for here.
  assert.deepEqual(exported('job-a'), expected('job-a', 25));
});

test('spans made after the first flush at exit (a beforeExit of the app\'s own) leave too', async () => {
  const r = await child('job-b', 3, { endpoint: collector.url }, `
    let again = true;
    process.on('beforeExit', () => { if (again) { again = false; setTimeout(() => tracer.startSpan('job-b-late').end(), 20); } });
  `);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(exported('job-b'), [...expected('job-b', 3), 'job-b-late'].sort());
});

test('an app whose own beforeExit ends a span every time it runs: the process still exits', async () => {
  // Before the flush at exit such a script exited (losing that span); now each
  // export keeps the loop alive, so 'beforeExit' runs again, makes another
  // span, and it is exported again: it never ends.
  const before = collector.requests.length;
  const r = await child('job-h', 1, { endpoint: collector.url }, `
    process.on('beforeExit', () => tracer.startSpan('job-h-exiting').end());
  `);
  const requests = collector.requests.length - before;
  assert.equal(r.code, 0, `exit code ${r.code} after ${r.ms} ms, ${requests} requests`);
  assert.ok(r.ms < 8_000, `exited after ${r.ms} ms`);
  assert.ok(requests <= 3, `${requests} requests`);
});

test('shutdown() called by the script: exported once, nothing sent again at exit', async () => {
  const before = collector.requests.length;
  const r = await child('job-c', 4, { endpoint: collector.url }, 'await tracer.shutdown();');
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(exported('job-c'), expected('job-c', 4));
  assert.equal(collector.requests.length - before, 1);
});

test('a collector that never answers: the process exits once the export times out', async () => {
  const r = await child('job-d', 2, { endpoint: collector.url, headers: { 'x-case': 'hang' }, timeoutMs: 800 });
  assert.equal(r.code, 0, r.out);
  assert.ok(r.ms < 8_000, `exited after ${r.ms} ms`);
});

test('a collector that rejects every export (401, a wrong key): the process exits, without sending again and again', async () => {
  // Each rejection is reported as a wasmtrace.dropped span, which ends after
  // the flush: the loop empties, 'beforeExit' flushes it, it is rejected and
  // reported again, and so on for ever.
  const before = collector.requests.length;
  const r = await child('job-g', 2, { endpoint: collector.url, headers: { 'x-case': 'reject' } });
  const requests = collector.requests.length - before;
  assert.equal(r.code, 0, `exit code ${r.code} after ${r.ms} ms, ${requests} requests`);
  assert.ok(r.ms < 8_000, `exited after ${r.ms} ms`);
  assert.ok(requests <= 3, `${requests} requests to a collector that rejects them`);
});

test('no collector at all: the process exits at once, and nothing is thrown', async () => {
  const r = await child('job-e', 2, { endpoint: 'http://127.0.0.1:9/v1/traces' });
  assert.equal(r.code, 0, r.out);
  assert.ok(r.ms < 8_000, `exited after ${r.ms} ms`);
  assert.doesNotMatch(r.out, /Error|Unhandled/);
});

test('OTEL_SDK_DISABLED: nothing exported, the process exits', async () => {
  const r = await child('job-f', 2, { endpoint: collector.url, env: { OTEL_SDK_DISABLED: 'true' } });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(exported('job-f'), []);
});

test('tracers the app dropped are collected, Wasm memory and all, and the exit listener goes with the last', async () => {
  const r = await run(`
    const { init } = await import(${JSON.stringify(nodeEntry)});
    const refs = [];
    for (let i = 0; i < 6; i++) refs.push(new WeakRef(await init({ serviceName: 'gc', endpoint: ${JSON.stringify(collector.url)} })));
    const kept = await init({ serviceName: 'gc', endpoint: ${JSON.stringify(collector.url)} });
    ${collect("refs.every((r) => !r.deref())")}
    await new Promise((r) => setTimeout(r, 20)); // the finalizers' turn
    const listening = process.listenerCount('beforeExit');
    await kept.shutdown();
    console.log(JSON.stringify({ alive: refs.filter((r) => r.deref()).length, listening, after: process.listenerCount('beforeExit') }));
  `);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(JSON.parse(r.out), { alive: 0, listening: 1, after: 0 }, 'one listener while a tracer lives, none after');
});

test('a tracer dropped with spans still waiting is not collected before they leave at exit', async () => {
  const r = await run(`
    const { init } = await import(${JSON.stringify(nodeEntry)});
    let ref;
    await (async () => {
      const tracer = await init({ serviceName: 'job-gc', endpoint: ${JSON.stringify(collector.url)} });
      for (let i = 0; i < 3; i++) tracer.startSpan('job-gc-' + i).end();
      ref = new WeakRef(tracer);
    })();
    ${collect('false')}
    if (!ref.deref()) console.log('collected');
  `);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, '');
  assert.deepEqual(exported('job-gc'), expected('job-gc', 3));
});

for (const any of [true, false]) {
  test(`a collector that accepts the connection and never answers: exit takes the exit budget (2 s), not the request timeout (10 s)${any ? '' : ', without AbortSignal.any (Node < 20.3)'}`, async () => {
    const silent = await silentServer();
    try {
      // The time from the first 'beforeExit' (this listener is the first) to 'exit', measured in the child.
      const r = await run(`
        ${any ? '' : 'delete AbortSignal.any;'}
        let t0;
        process.on('beforeExit', () => { t0 ??= Date.now(); });
        process.on('exit', () => console.log(Date.now() - t0));
        const { init } = await import(${JSON.stringify(nodeEntry)});
        const tracer = await init({ serviceName: 'job-silent', endpoint: ${JSON.stringify(silent.url)} });
        for (let i = 0; i < 3; i++) tracer.startSpan('job-silent-' + i).end();
      `);
      assert.equal(r.code, 0, r.out);
      assert.ok(silent.connections() >= 1, 'the export reached the server');
      const exitMs = Number(r.out);
      // A loaded machine's slack: 3 s; waiting for the request timeout takes 10 s.
      assert.ok(exitMs >= 1900 && exitMs < 5000, `exit took ${r.out.trim()} ms`);
    } finally {
      await silent.close();
    }
  });
}

test('a slow collector that answers within the budget still gets every span at exit, over several requests and rounds', async () => {
  const slow = await startCollector({ respond: () => ({ delayMs: 300 }) });
  try {
    const r = await child('job-slow', 1200, { endpoint: slow.url, compression: 'none', maxConcurrentRequests: 1 }, `
      let again = true;
      process.on('beforeExit', () => { if (again) { again = false; setTimeout(() => tracer.startSpan('job-slow-late').end(), 20); } });
    `);
    assert.equal(r.code, 0, r.out);
    const names = slow.spans().map((s) => s.name).sort();
    assert.deepEqual(names, [...expected('job-slow', 1200), 'job-slow-late'].sort());
    assert.ok(slow.requests.length >= 3, `${slow.requests.length} requests`);
  } finally {
    await slow.close();
  }
});

test("an app whose 'beforeExit' starts more work: its later exports are not cut short by the exit budget, and its last exit still flushes", async () => {
  // The first exit flushes 'keep-0' and is called off; 2.5 s later (past the
  // 2 s budget) the app ends more spans, flushes them itself, then exits again.
  const name = 'keep';
  const r = await child(name, 1, { endpoint: collector.url, storage: null }, `
    let again = true;
    process.on('beforeExit', () => {
      if (!again) return;
      again = false;
      setTimeout(async () => {
        for (let i = 1; i < 4; i++) tracer.startSpan('${name}-' + i).end();
        const r = await tracer.flush();
        console.log('flush', JSON.stringify(r));
        for (let i = 4; i < 6; i++) tracer.startSpan('${name}-' + i).end(); // left for the final exit
      }, 2500);
    });
  `);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /flush \{"sent":3,/, r.out);
  assert.deepEqual(exported(name), expected(name, 6));
});

test('at exit, traces held by tail sampling (their root never ended) are decided and sent, as shutdown() does', async () => {
  for (const [ratio, error, kept] of [[0.999999, false, true], [0, true, true], [0, false, false], [1, false, true]] as const) {
    const name = `job-held-${ratio}-${error}`;
    const r = await child(name, 0, { endpoint: collector.url, sampler: { ratio } }, `
      const root = tracer.startSpan('root');
      const c = tracer.startSpan(${JSON.stringify(name)}, {}, root);
      ${error ? "c.setStatus({ code: 2, message: 'failed' });" : ''}
      c.end();
    `);
    assert.equal(r.code, 0, r.out);
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(exported(name), kept ? [name] : [], `ratio ${ratio}, error ${error}`);
  }
});

test('an export that fails with a retryable status just before or at exit (503, 429 with Retry-After, 502, 504; once or twice) is tried again within the exit rounds, not left to a retry timer the exit never waits for', async () => {
  // Each job's first `fails` requests get `status`; the later ones are taken.
  const taken = new Map<string, number>();
  const seen = new Map<string, number>();
  const flaky = await startCollector({
    respond: (req) => {
      const job = req.headers['x-job']!;
      const [status, fails] = req.headers['x-fail']!.split(':').map(Number) as [number, number];
      const n = (seen.get(job) ?? 0) + 1;
      seen.set(job, n);
      if (n <= fails) return { status, headers: { 'retry-after': '30' } };
      taken.set(job, (taken.get(job) ?? 0) + (req.decoded ? allSpans(req.decoded).filter((s) => s.name.startsWith(job)).length : 0));
      return {};
    },
  });
  try {
    const failures: string[] = [];
    for (const status of [503, 429, 502, 504]) {
      for (const fails of [1, 2]) {
        // 'exit': the first export is the flush at exit; 'run': the script's own flush failed, then it ended.
        for (const when of ['exit', 'run']) {
          const job = `flaky-${status}-${fails}-${when}`;
          const r = await child(job, 3, { endpoint: flaky.url, headers: { 'x-job': job, 'x-fail': `${status}:${fails}` } }, when === 'run' ? 'await tracer.flush();' : '');
          assert.equal(r.code, 0, r.out);
          assert.ok(r.ms < 8_000, `${job}: exited after ${r.ms} ms`);
          if ((taken.get(job) ?? 0) !== 3) failures.push(`${job}: ${taken.get(job) ?? 0} of 3 spans taken, ${seen.get(job) ?? 0} requests`);
        }
      }
    }
    assert.deepEqual(failures, []);
    // One that fails every time: tried in each of the exit's rounds (3), no more, and the process exits at once.
    for (const status of [503, 429]) {
      const job = `flaky-${status}-always`;
      const r = await child(job, 3, { endpoint: flaky.url, headers: { 'x-job': job, 'x-fail': `${status}:1000` } });
      assert.equal(r.code, 0, r.out);
      assert.ok(r.ms < 8_000, `${job}: exited after ${r.ms} ms`);
      assert.ok((seen.get(job) ?? 0) <= 3, `${job}: ${seen.get(job)} requests`);
    }
  } finally {
    await flaky.close();
  }
});

test('a collector that never answers, after a flush of the script\'s own was cut by its timeout and is awaiting its retry: the exit still ends within its 2 s budget', async () => {
  const silent = await silentServer();
  try {
    for (const timeoutMs of [1500, 4000]) {
      const r = await child(`stuck-${timeoutMs}`, 1, { endpoint: silent.url, timeoutMs, retryInitialDelayMs: 1200, retryMaxDelayMs: 1200, storage: null }, `
        console.log('flush', JSON.stringify(await tracer.flush()));
        tracer.startSpan('after').end();
        const t0 = Date.now();
        process.on('exit', () => console.log('exit after', Date.now() - t0));
      `);
      assert.equal(r.code, 0, r.out);
      const ms = Number(/exit after (\d+)/.exec(r.out)?.[1]);
      // The budget is 2 s from the first flush at exit; 1 s more for a loaded machine.
      assert.ok(ms < 3_000, `timeout ${timeoutMs}: exited ${ms} ms after the script ended\n${r.out}`);
    }
  } finally {
    await silent.close();
  }
});
