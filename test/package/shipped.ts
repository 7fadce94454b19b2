// What the packed tarball must hold, derived from package.json and the shipped
// files themselves: the files the exports map (every condition) and the
// top-level entry fields name, what shipped JavaScript loads relative to
// itself, and what shipped declarations and AssemblyScript sources import.
import { posix } from 'node:path';

/** package.json, as far as these checks read it. */
export interface Manifest {
  name: string;
  exports?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** A file a field points to: `where` says which field (`exports["."].node.types`). */
export interface Target { where: string; path: string }

/** Top-level fields that name a file of the package. */
const ENTRY_FIELDS = ['main', 'module', 'types', 'typings', 'browser'];

/** `./dist/x.js` → `dist/x.js` (tarball paths have no leading `./`). */
export const packagePath = (p: string): string => posix.normalize(p.replace(/^\.\//, ''));

/** Every file named by `exports` (each condition, nested) and by the entry fields. */
export function entryTargets(manifest: Manifest): Target[] {
  const out: Target[] = [];
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'string') out.push({ where, path: v });
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}[${JSON.stringify(k)}]`);
  };
  walk(manifest.exports, 'exports');
  for (const f of ENTRY_FIELDS) if (typeof manifest[f] === 'string') out.push({ where: f, path: manifest[f] as string });
  return out;
}

/** Every conditions object of the exports map (objects whose keys do not start with '.'), with where it is. */
export function conditionObjects(manifest: Manifest): Array<{ where: string; keys: string[] }> {
  const out: Array<{ where: string; keys: string[] }> = [];
  const walk = (v: unknown, where: string): void => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
    const keys = Object.keys(v);
    if (keys.length > 0 && !keys.some((k) => k.startsWith('.'))) out.push({ where, keys });
    for (const [k, x] of Object.entries(v)) walk(x, `${where}[${JSON.stringify(k)}]`);
  };
  walk(manifest.exports, 'exports');
  return out;
}

/** A specifier a shipped file uses, and how (`import`, `new URL`, `wasm literal`). */
export interface Reference { how: string; specifier: string }

/** A quoted module specifier: what a package name, a path or a `node:` URL is made of. */
const SPECIFIER = `(["'])([\\w@./:+-]+)\\1`;
const STRING = /(["'`])((?:(?!\1)[^\\\n])*)\1/g;

/**
 * What a bundled JS file loads: static and dynamic imports, the string
 * literals inside `new URL(…, import.meta.url)`'s first argument (a
 * conditional names two files), and any literal naming a `.wasm` file (the
 * script-tag build resolves those against its own URL, not import.meta.url).
 */
export function jsReferences(code: string): Reference[] {
  const refs: Reference[] = [];
  // SPECIFIER keeps `from":$(c)…` inside a minified string from passing for an import.
  for (const m of code.matchAll(new RegExp(`\\bfrom\\s*${SPECIFIER}`, 'g'))) refs.push({ how: 'import', specifier: m[2]! });
  for (const m of code.matchAll(new RegExp(`\\bimport\\s*${SPECIFIER}`, 'g'))) refs.push({ how: 'import', specifier: m[2]! });
  for (const m of code.matchAll(new RegExp(`\\bimport\\s*\\(\\s*${SPECIFIER}\\s*\\)`, 'g'))) refs.push({ how: 'import()', specifier: m[2]! });
  for (const m of code.matchAll(/\bnew\s+URL\s*\(([^()]*?),\s*import\.meta\.url\s*\)/g)) {
    for (const s of m[1]!.matchAll(STRING)) refs.push({ how: 'new URL(…, import.meta.url)', specifier: s[2]! });
  }
  for (const m of code.matchAll(/(["'`])([\w./-]+\.wasm)\1/g)) refs.push({ how: 'wasm literal', specifier: m[2]! });
  return refs;
}

/** Relative imports of a declaration file (`from`, `import()`, `/// <reference path>`). */
export function dtsReferences(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/\bfrom\s*(["'])([^"'\n]+)\1/g)) out.push(m[2]!);
  for (const m of code.matchAll(/\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g)) out.push(m[2]!);
  for (const m of code.matchAll(/\/\/\/\s*<reference\s+path\s*=\s*(["'])([^"']+)\1/g)) out.push(m[2]!);
  return out.filter(isRelative);
}

/** Relative imports of an AssemblyScript source (`import`/`export … from "./x"`, no extension). */
export function ascReferences(code: string): string[] {
  return [...code.matchAll(/\bfrom\s*(["'])([^"'\n]+)\1/g)].map((m) => m[2]!).filter(isRelative);
}

export const isRelative = (s: string): boolean => s.startsWith('./') || s.startsWith('../');

/** The package path `specifier` names from the file `from`; a bare `x.wasm` literal means the file beside it. */
export const resolveFrom = (from: string, specifier: string): string =>
  posix.normalize(posix.join(posix.dirname(from), specifier));

/** Candidate files for a declaration import: `./x.js` → `./x.d.ts`, `./x` → `./x.d.ts` or `./x/index.d.ts`. */
export function dtsCandidates(from: string, specifier: string): string[] {
  const p = resolveFrom(from, specifier);
  if (p.endsWith('.d.ts')) return [p];
  if (/\.[cm]?js$/.test(p)) return [p.replace(/\.js$/, '.d.ts').replace(/\.mjs$/, '.d.mts').replace(/\.cjs$/, '.d.cts')];
  return [`${p}.d.ts`, `${p}/index.d.ts`];
}

/** Candidate files for an AssemblyScript import: `./x` → `./x.ts` or `./x/index.ts`. */
export function ascCandidates(from: string, specifier: string): string[] {
  const p = resolveFrom(from, specifier);
  return p.endsWith('.ts') ? [p] : [`${p}.ts`, `${p}/index.ts`];
}

/**
 * Files reachable from `starts` through `refs` (a file's imports, as lists of
 * candidates of which one must exist). Returns what was reached and each
 * import that resolved to no shipped file.
 */
export function walkImports(
  starts: string[],
  shipped: ReadonlySet<string>,
  read: (path: string) => string,
  refs: (path: string, code: string) => Array<{ specifier: string; candidates: string[] }>,
): { reached: Set<string>; missing: string[] } {
  const reached = new Set<string>();
  const missing: string[] = [];
  const queue = starts.filter((s) => shipped.has(s));
  // Bounded: each shipped file is read at most once.
  while (queue.length > 0 && reached.size <= shipped.size) {
    const file = queue.pop()!;
    if (reached.has(file)) continue;
    reached.add(file);
    for (const { specifier, candidates } of refs(file, read(file))) {
      const hit = candidates.find((c) => shipped.has(c));
      if (hit === undefined) missing.push(`${file}: '${specifier}' (looked for ${candidates.join(', ')})`);
      else if (!reached.has(hit)) queue.push(hit);
    }
  }
  return { reached, missing };
}

/** Path segments that must never be in the package (what `files` leaves out on purpose). */
export const NEVER_SHIPPED = ['test', 'tests', '__tests__', 'bench', 'demo', 'node_modules', 'scripts', '.git', '.ci', 'coverage'];

/** Files npm adds whatever `files` says. */
export const ALWAYS_SHIPPED = /^(package\.json|README(\.[^/]*)?|LICEN[CS]E(\.[^/]*)?|NOTICE(\.[^/]*)?)$/i;

/** Whether `path` is under one of `files`' entries (a directory, a file, or a simple `*` glob). */
export function coveredByFiles(path: string, files: string[]): boolean {
  return files.some((f) => {
    const entry = packagePath(f).replace(/\/$/, '');
    if (entry.includes('*')) {
      const re = new RegExp(`^${entry.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/|$)`);
      return re.test(path);
    }
    return path === entry || path.startsWith(`${entry}/`);
  });
}
