// Headless Chromium for browser benchmarks (playwright-core, the system
// browser, the flags from PLATFORM-FACTS.md), and esbuild for page bundles.
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as esbuild from 'esbuild';
import { chromePath } from './machine.mjs';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

export function launch() {
  return chromium.launch({ executablePath: chromePath(), args: ARGS, timeout: 60_000 });
}

/** Bundles a page entry (a file: URL) for the browser: minified ESM, as an app would ship it. */
export async function bundlePage(entry) {
  const r = await esbuild.build({
    entryPoints: [fileURLToPath(entry)], bundle: true, minify: true, format: 'esm', platform: 'browser',
    target: 'es2022', mangleProps: /^_/, define: { 'process.env.NODE_ENV': '"production"' }, write: false, logLevel: 'silent',
  });
  return r.outputFiles[0].contents;
}
