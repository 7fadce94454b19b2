// What a result was measured on: date, runtimes, CPU, and the exact versions
// of wasmtrace's rivals (top-level and nested copies, from package-lock.json).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { root } from './paths.mjs';

/** Every package measured against wasmtrace, or used to measure. */
export const RIVALS = [
  '@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-trace-web', '@opentelemetry/otlp-transformer',
  '@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/instrumentation', '@opentelemetry/instrumentation-fetch',
  '@opentelemetry/instrumentation-xml-http-request', '@opentelemetry/instrumentation-document-load',
  '@opentelemetry/instrumentation-user-interaction', '@opentelemetry/context-zone', 'zone.js',
  '@grafana/faro-web-sdk', '@grafana/faro-web-tracing', '@sentry/browser', '@elastic/apm-rum',
  '@microlabs/otel-cf-workers',
];
const TOOLS = ['esbuild', 'playwright-core', 'assemblyscript', 'typescript'];

/** `{ name: version }` for top-level installs, plus `name@path` entries for nested copies. */
export function packageVersions(names = RIVALS) {
  const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));
  const out = {};
  const wanted = new Set(names);
  for (const [path, meta] of Object.entries(lock.packages ?? {})) {
    const i = path.lastIndexOf('node_modules/');
    if (i < 0) continue;
    const name = path.slice(i + 'node_modules/'.length);
    if (!wanted.has(name)) continue;
    if (path === `node_modules/${name}`) out[name] = meta.version;
    else out[`${name} (in ${path.slice(0, i - 1).replace(/^node_modules\//, '')})`] = meta.version;
  }
  for (const n of names) out[n] ??= readVersion(n);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function readVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

export const chromePath = () => process.env.CHROME_PATH ?? '/usr/bin/chromium';
export const firefoxPath = () => process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Chromium's version from `--version`, or null when it cannot run. */
export function chromiumVersion() {
  const r = spawnSync(chromePath(), ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const m = /(\d+\.\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ''}`);
  return m ? `Chromium ${m[1]}` : null;
}

export function machine() {
  const cpus = os.cpus();
  const ours = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  return {
    date: new Date().toISOString(),
    wasmtrace: ours.version,
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || null,
    node: process.version,
    v8: process.versions.v8,
    browser: chromiumVersion(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    rivals: packageVersions(),
    tools: packageVersions(TOOLS),
  };
}
