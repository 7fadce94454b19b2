// wasmtrace/worker's types, checked by the TypeScript compiler: every type
// its public signatures name (a parameter, a return, an option's field, and
// what those name in turn) is exported by the entry itself, so a user typing
// a custom transport or a links array needs no other import. The list comes
// from the declarations, not from this file; a consumer module then imports
// each name from the entry and uses the API as the docs show, strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ts from 'typescript';
import { root } from './harness.js';

const entry = join(root, 'worker', 'index.ts');
const consumer = join(root, 'test', 'worker', 'consumer.virtual.ts');

/** `names` imported from the entry and used as docs/worker.md shows. */
const consumerSource = (names: string[]): string => `
  import { instrument, getSpan, getTracer } from './../../worker/index.js';
  import type { ${names.join(', ')} } from './../../worker/index.js';
  // A custom transport and a links array, typed by their names.
  const transport: Transport = async (body: Uint8Array, meta: TransportMeta): Promise<TransportResponse> => ({ status: body.length && meta.spans ? 200 : 204 });
  const links: Link[] = [{ context: { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 } }];
  const stats: TracerStats = getTracer().stats();
  const flushed: Promise<ExportResult> = getTracer().flush();
  export default instrument(
    {
      async fetch(request: Request) {
        // No ?. or !: getTracer() always gives a tracer.
        getTracer().startSpan('work', { links, startTime: Date.now() satisfies TimeInput }, getSpan(request) satisfies ParentInput).end();
        return new Response(String(stats.droppedSpans) + String(await flushed));
      },
    },
    // One string or RegExp alone is a list of one.
    { transport, propagateTo: 'https://api.example.com', redactQuery: 'token', sampler: { ratio: 1 } satisfies SamplerOptions, limits: { events: 8 } satisfies LimitOptions },
  );
`;

test('every type wasmtrace/worker\'s public signatures name is exported by it; a strict consumer imports and uses them', () => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'worker', 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) })!;
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options);

  // First the entry alone: what its signatures name.
  let program = ts.createProgram([entry], options, host);
  let checker = program.getTypeChecker();
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const ours = (d: ts.Node): boolean => {
    const f = d.getSourceFile().fileName;
    return f.startsWith(root) && !f.includes('/node_modules/');
  };
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!);
  const targets = new Set(exported.map(resolve));
  /** Each named type reached, with the path that reached it. */
  const named = new Map<ts.Symbol, string>();
  const walked = new Set<ts.Node>();

  const visit = (n: ts.Node, via: string): void => {
    const ref = ts.isTypeReferenceNode(n) ? n.typeName : ts.isExpressionWithTypeArguments(n) ? n.expression : ts.isTypeQueryNode(n) ? n.exprName : undefined;
    const s = ref && checker.getSymbolAtLocation(ref);
    if (s && !(s.flags & ts.SymbolFlags.TypeParameter)) {
      const t = resolve(s);
      // A module's own unexported alias (setClock's `() => number`) is no name a user types.
      const decls = (t.declarations ?? []).filter((d) => ours(d) && ts.getCombinedModifierFlags(d as ts.Declaration) & ts.ModifierFlags.Export);
      if (decls.length && !named.has(t)) {
        named.set(t, `${via} → ${t.name}`);
        for (const d of decls) walk(d, `${via} → ${t.name}`);
      }
    }
    ts.forEachChild(n, (c) => visit(c, via));
  };
  /** A declaration's public shape: a function's signature (not its body), a variable's annotation, a type's whole text. */
  const walk = (d: ts.Node, via: string): void => {
    if (walked.has(d)) return;
    walked.add(d);
    if (ts.isFunctionDeclaration(d)) {
      for (const c of [...(d.typeParameters ?? []), ...d.parameters, ...(d.type ? [d.type] : [])]) visit(c, via);
    } else if (ts.isVariableDeclaration(d)) {
      if (d.type) visit(d.type, via);
    } else {
      visit(d, via);
    }
  };
  for (const s of exported) for (const d of resolve(s).declarations ?? []) walk(d, s.name);

  const missing = [...named].filter(([s]) => !targets.has(s)).map(([, via]) => via);
  assert.deepEqual(missing, [], `named in public signatures, not exported by worker/index.ts:\n${missing.join('\n')}`);
  // Not vacuous: the walk reached types of both src/ and worker/ (Tracer → Span → Link, WorkerConfig → Transport, …).
  const files = new Set([...named.keys()].flatMap((s) => (s.declarations ?? []).map((d) => d.getSourceFile().fileName.slice(root.length).split('/')[0])));
  assert.deepEqual([...files].sort(), ['src', 'worker'], [...named.values()].join('\n'));

  // Then a consumer of every named type (and of each exported type besides).
  const names = [...new Set([...named.keys(), ...[...targets].filter((s) => s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))].map((s) => s.name))].sort();
  const text = consumerSource(names);
  const consumerHost: ts.CompilerHost = {
    ...host,
    fileExists: (f) => f === consumer || host.fileExists(f),
    readFile: (f) => (f === consumer ? text : host.readFile(f)),
    getSourceFile: (f, v, ...rest) => (f === consumer ? ts.createSourceFile(f, text, v) : host.getSourceFile(f, v, ...rest)),
  };
  program = ts.createProgram([consumer], options, consumerHost, program);
  checker = program.getTypeChecker();
  const file = program.getSourceFile(consumer)!;
  const errors = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
    const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    return `line ${line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  assert.deepEqual(errors, [], `${text}\n${errors.join('\n')}`);
});
