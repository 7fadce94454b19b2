// Runs every test/**/*.test.ts with Node's test runner (TypeScript through tsx), after
// making sure both browsers the end-to-end tests need are present. Browser tests are
// never skipped: without a browser this script fails.
//
//   node scripts/test.mjs                 every test file
//   node scripts/test.mjs decoder e2e/    only files whose path contains one of the words
//
// Env: CHROME_PATH, FIREFOX_PATH (exported to the tests, defaults found below).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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

const filters = process.argv.slice(2);
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

const args = [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=tap', '--test-reporter-destination=stdout',
  // A backstop so nothing can hang CI: no single test may run longer than 5 minutes,
  // and a file whose handles leak still exits once its tests are done.
  '--test-timeout=300000', '--test-force-exit',
  ...files,
];
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, CHROME_PATH: chromePath, FIREFOX_PATH: firefoxPath },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) die(`test runner killed by ${signal}`);
  process.exit(code ?? 1);
});
