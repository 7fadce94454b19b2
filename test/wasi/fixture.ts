// A WASI test program (test/wasi/fixtures/<name>.ts) compiled once per test
// file: the library's release settings, with a runtime that frees (the
// fixtures build strings and arrays per operation) and room to grow.
import { after, before } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Compiles the fixture before the file's tests and removes it after them; the getter gives its path. */
export function wasiFixture(name: string): () => string {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), `wasmtrace-${name}-`));
    execFileSync(join(root, 'node_modules', '.bin', 'asc'), [
      `test/wasi/fixtures/${name}.ts`, '--config', 'asconfig.json', '--target', 'release', '-o', join(dir, `${name}.wasm`),
      '--runtime', 'incremental', '--exportStart', '_start', '--initialMemory', '24', '--maximumMemory', '1024',
    ], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return () => join(dir, `${name}.wasm`);
}
