// Runs every test/**/*.test.ts with Node's test runner (TypeScript through tsx), after
// making sure both browsers the end-to-end tests need are present; then runs the
// Node-only files again under Node 22 (scripts/node22.mjs). Browser tests and the
// Node 22 leg are never skipped: without a browser or Node 22 this script fails.
//
//   node scripts/test.mjs                 every test file
//   node scripts/test.mjs decoder e2e/    only files whose path contains one of the words
//   node scripts/test.mjs --node22-only   only the Node 22 leg (takes words too)
//
// Env: CHROME_PATH, FIREFOX_PATH (exported to the tests, defaults found below), NODE22_PATH.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE22_SKIP, node22, node22Args, nodeOnly } from './node22.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[test] ${msg}`);
const die = (msg) => {
  console.error(`[test] ERROR: ${msg}`);
  process.exit(1);
};

let aptUpdated = false;
function aptInstall(pkg) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    log(`apt-get ${args.join(' ')}`);
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) die(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  };
  if (!aptUpdated) {
    run(['update']);
    aptUpdated = true;
  }
  run(['install', '-y', '--no-install-recommends', pkg]);
}

/** Returns the browser's path: $envVar, else defaultPath, else installs `pkg` with apt as root. */
function findBrowser(label, envVar, defaultPath, pkg) {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) die(`${envVar}=${fromEnv} does not exist`);
    return fromEnv;
  }
  if (existsSync(defaultPath)) return defaultPath;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    log(`${label} not found at ${defaultPath}; installing Debian's ${pkg}`);
    aptInstall(pkg);
    if (existsSync(defaultPath)) return defaultPath;
    die(`installed ${pkg} but ${defaultPath} is still missing`);
  }
  return die(`${label} not found. Set ${envVar}, or install it (Debian: sudo apt-get install -y ${pkg}). ` +
    `The end-to-end tests need it and are never skipped.`);
}

function testFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.isFile() && e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const node22Only = process.argv.includes('--node22-only');
const filters = process.argv.slice(2).filter((a) => a !== '--node22-only');
const all = existsSync(join(root, 'test')) ? testFiles(join(root, 'test')) : [];
const files = all
  .map((f) => relative(root, f).split(sep).join('/'))
  .sort()
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)));
if (files.length === 0) die(`no test files match ${filters.length ? filters.join(', ') : 'test/**/*.test.ts'}`);

const chromePath = findBrowser('Chromium', 'CHROME_PATH', '/usr/bin/chromium', 'chromium');
const firefoxPath = findBrowser('Firefox', 'FIREFOX_PATH', '/usr/bin/firefox-esr', 'firefox-esr');
log(`CHROME_PATH=${chromePath}`);
log(`FIREFOX_PATH=${firefoxPath}`);
log(`${files.length} file(s): ${files.join(' ')}`);

/**
 * The environment without the OpenTelemetry settings the SDK reads from
 * process.env (OTEL_*, TRACEPARENT, TRACESTATE, BAGGAGE): a shell or CI that exports
 * them must not change what the tests see.
 */
function hermeticEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OTEL_|TRACEPARENT$|TRACESTATE$|BAGGAGE$)/.test(k)));
}

/** Runs `files` with the test runner under the Node binary `nodePath`; resolves to its exit code. */
function runTests(nodePath, files, extraArgs = []) {
  const args = [
    '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=tap', '--test-reporter-destination=stdout',
    // A backstop so nothing can hang CI: no single test may run longer than 5 minutes,
    // and a file whose handles leak still exits once its tests are done.
    '--test-timeout=300000', '--test-force-exit',
    ...extraArgs,
    ...files,
  ];
  const child = spawn(nodePath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...hermeticEnv(), CHROME_PATH: chromePath, FIREFOX_PATH: firefoxPath },
  });
  const failures = failureCollector();
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    failures.feed(chunk.toString('utf8'));
  });
  const stop = (sig) => child.kill(sig);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, stop);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, stop);
      if (signal) die(`test runner killed by ${signal}`);
      resolve({ code: code ?? 1, failures: failures.done() });
    }),
  );
}

/**
 * Reads the runner's TAP as it streams and keeps each failing test (not the suites that
 * fail only because a subtest did): its name, file location and the first lines of its
 * error. The run's log is long; CI shows its tail, so the failures are printed again last.
 */
const KEPT = new Set(['location', 'error', 'failureType', 'code', 'expected', 'actual', 'operator', 'stack']);
function failureCollector() {
  const found = [];
  let pending = '';
  let current = null; // the failing test whose YAML block is being read
  const line = (text) => {
    const notOk = /^(\s*)not ok \d+ - (.*)$/.exec(text);
    if (notOk) {
      current = { indent: notOk[1].length, name: notOk[2], lines: [], subtests: false, frames: 0 };
      found.push(current);
      return;
    }
    if (!current) return;
    const body = text.slice(current.indent + 2);
    if (body.trim() === '...' && text.startsWith(' '.repeat(current.indent + 2) + '...')) {
      current = null;
      return;
    }
    const key = /^(\w+):/.exec(body);
    if (key) current.key = key[1];
    if (/^failureType: 'subtestsFailed'/.test(body)) current.subtests = true;
    else if (current.key === 'stack') {
      // The frames in the project's own test code: where the failing check is (the
      // error's text alone may not say: assert.ok without a message quotes the wrong lines).
      if (/\/test\//.test(body) && !body.includes('node_modules') && current.frames++ < 4) current.lines.push(body);
    } else if (KEPT.has(current.key ?? '') && current.lines.length < 16) current.lines.push(body);
  };
  return {
    feed(chunk) {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const p of parts) line(p);
    },
    done() {
      if (pending) line(pending);
      return found.filter((f) => !f.subtests).map((f) => ({ name: f.name, lines: f.lines }));
    },
  };
}

/** Prints a leg's failing tests, so they stand at the end of a long log. */
function reportFailures(leg, failures) {
  if (failures.length === 0) return;
  log(`${leg}: ${failures.length} failing test(s):`);
  for (const f of failures) {
    console.log(`[test]   not ok - ${f.name}`);
    for (const l of f.lines) console.log(`[test]       ${l}`);
  }
}

// The Node 22 leg: the files whose outcome may depend on Node's version (not the browser
// suites). Its binary is found first, so a registry that cannot be reached fails at once.
const files22 = files.filter(nodeOnly);
const again = node22Only || !process.versions.node.startsWith('22.');
if (node22Only && files22.length === 0) die('--node22-only: none of the selected files is a Node-only suite');
let bin22 = null;
if (again && files22.length > 0) {
  try {
    bin22 = node22(root);
  } catch (e) {
    die(`Node 22 leg: ${e instanceof Error ? e.message : e}`);
  }
}

let failed = false;
let mainFailures = [];
if (!node22Only) {
  const t0 = performance.now();
  const { code, failures } = await runTests(process.execPath, files);
  log(`main leg (Node ${process.versions.node}): ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  mainFailures = failures;
  reportFailures('main leg', failures);
  failed = code !== 0;
}
if (!again) log(`Node 22 leg: not run again, the runner above is already Node ${process.versions.node}`);
else if (!bin22) log('Node 22 leg: none of the selected files is a Node-only suite');
else {
  log(`Node 22 leg: ${bin22}, ${files22.length} file(s): ${files22.join(' ')}`);
  log(`Node 22 leg: bench modules ${NODE22_SKIP.join(', ')} time Chromium and run only in the main leg`);
  const t0 = performance.now();
  const { code, failures } = await runTests(bin22, files22, node22Args);
  log(`Node 22 leg: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  reportFailures('Node 22 leg', failures);
  failed ||= code !== 0;
}
// The main leg's failures once more, last, where a truncated CI log still shows them.
if (bin22 && !node22Only) reportFailures('main leg (again)', mainFailures);
process.exit(failed ? 1 : 0);
