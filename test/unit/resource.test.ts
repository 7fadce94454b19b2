// The resource's service.name from every source a user may set it in, in
// every combination: the options (serviceName, resource), OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES, against a model of the precedence rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceAttributes } from '../../src/resource.js';
import { setDebug } from '../../src/diag.js';
import { startCollector } from '../helpers/collector.js';
import { init } from '../../src/node.js';
import { protoWasm } from '../helpers/core-tracer.js';
import { basename } from 'node:path';

const OPTION = [undefined, '', 42, 'opt-name'];
const RESOURCE = [undefined, {}, { 'service.name': '' }, { 'service.name': 7 }, { 'service.name': 'res-name', 'team.id': 'a' }];
const SERVICE_VAR = [undefined, '', '  ', 'var-name'];
const ATTRS_VAR = [undefined, 'team.id=b', 'service.name=attr%20name,team.id=b', 'service.name=,region=eu'];

/** The rule: the first non-empty text of the option, the resource option's, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES'. */
function model(option: unknown, resource: Record<string, unknown> | undefined, serviceVar?: string, attrsVar?: string): string | undefined {
  const fromAttrs = /(?:^|,)service\.name=([^,]*)/.exec(attrsVar ?? '')?.[1];
  const candidates = [option, resource?.['service.name'], serviceVar?.trim(), fromAttrs && decodeURIComponent(fromAttrs)];
  return candidates.find((c): c is string => typeof c === 'string' && c !== '');
}

test('service.name: every combination of the four sources follows the precedence rule; the default and its warning only when none gives one', () => {
  const warnings: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a);
  setDebug(true);
  try {
    let cases = 0;
    for (const option of OPTION)
      for (const resource of RESOURCE)
        for (const serviceVar of SERVICE_VAR)
          for (const attrsVar of ATTRS_VAR) {
            const env = { OTEL_SERVICE_NAME: serviceVar, OTEL_RESOURCE_ATTRIBUTES: attrsVar };
            const before = warnings.length;
            const r = resourceAttributes({ serviceName: option, resource: resource as Record<string, string> | undefined }, env, 'nodejs');
            const want = model(option, resource, serviceVar, attrsVar);
            const what = JSON.stringify({ option, resource, env });
            assert.equal(r['service.name'], want ?? 'unknown_service', what);
            // Other attributes still merge: the resource option over the variable.
            const team = (resource as Record<string, unknown> | undefined)?.['team.id'] ?? (attrsVar?.includes('team.id=b') ? 'b' : undefined);
            assert.equal(r['team.id'], team, what);
            if (want === undefined) assert.ok(warnings.length > before || warnings.some((w) => String(w[1]).startsWith('bad serviceName')), what);
            else assert.equal(warnings.length, before, `no warning: ${what}`);
            cases++;
          }
    assert.equal(cases, OPTION.length * RESOURCE.length * SERVICE_VAR.length * ATTRS_VAR.length);
  } finally {
    console.warn = warn;
    setDebug(false);
  }
});

test('service.name and the other attributes of OTEL_RESOURCE_ATTRIBUTES alone reach the collector, __proto__ and constructor too', async () => {
  const collector = await startCollector();
  try {
    const tracer = await init({ serviceName: undefined as unknown as string, wasm: protoWasm, storage: null, endpoint: collector.url, env: { OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout,service.namespace=shop,__proto__=p,constructor=c' } });
    tracer.startSpan('s').end();
    await tracer.shutdown();
    const [s] = collector.spans();
    assert.equal(s!.resource['service.name'], 'checkout');
    assert.equal(s!.resource['service.namespace'], 'shop');
    // Keys an object's prototype has are attributes like any other.
    assert.ok(Object.hasOwn(s!.resource, '__proto__') && Object.hasOwn(s!.resource, 'constructor'), JSON.stringify(s!.resource));
    assert.equal(s!.resource['__proto__'], 'p');
    assert.equal(s!.resource['constructor'], 'c');
  } finally {
    await collector.close();
  }
});

test("Node: with no service name anywhere, service.name is unknown_service:<the executable's name>", async () => {
  const collector = await startCollector();
  try {
    const tracer = await init({ serviceName: undefined as unknown as string, wasm: protoWasm, storage: null, endpoint: collector.url, env: {} });
    tracer.startSpan('s').end();
    await tracer.shutdown();
    const [s] = collector.spans();
    assert.equal(s!.resource['service.name'], `unknown_service:${basename(process.execPath)}`);
    assert.match(String(s!.resource['service.name']), /^unknown_service:node/);
  } finally {
    await collector.close();
  }
});

test('span limits do not cut the resource (the specification exempts it); they still cut spans', async () => {
  const collector = await startCollector();
  try {
    for (const limit of [1, 2, 5, 16]) {
      const extra = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`res.k${i}`, `v${i}`]));
      const tracer = await init({ serviceName: `lim-${limit}`, wasm: protoWasm, storage: null, endpoint: collector.url, limits: { attributes: limit }, resource: extra, env: {} });
      tracer.startSpan('s', { attributes: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a${i}`, i])) }).end();
      await tracer.shutdown();
      const s = collector.spans().find((x) => x.resource['service.name'] === `lim-${limit}`)!;
      for (const [k, v] of Object.entries(extra)) assert.equal(s.resource[k], v, `limit ${limit}: ${k}`);
      assert.equal(s.resource['telemetry.sdk.name'], 'wasmtrace');
      assert.equal(Object.keys(s.attributes).length, limit, 'the span is limited');
      assert.equal(s.droppedAttributesCount, 20 - limit);
    }
  } finally {
    await collector.close();
  }
});

test('OTEL_RESOURCE_ATTRIBUTES: 2,000 generated values; one malformed %-escape discards the whole variable with one warning, as the specification says', () => {
  const warnings: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a);
  setDebug(true);
  let seed = 0x0e57;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const PARTS = ['a', 'k.x', ' sp ', '%20', '%C3%A9', '%E2%9C%93', '=', '%', '%zz', '%C3', '%2C', 'v'];
  try {
    let discarded = 0;
    for (let i = 0; i < 2000; i++) {
      const text = () => Array.from({ length: 1 + rnd(3) }, () => PARTS[rnd(PARTS.length)]).join('');
      const value = Array.from({ length: 1 + rnd(4) }, (_, j) => `${text()}${j}=${text()}`).join(',');
      // The model: every pair decodes (a pair without '=' after its key is skipped), else nothing.
      let want: Record<string, string> | null = {};
      for (const pair of value.split(',')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        try {
          want[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
        } catch {
          want = null;
          break;
        }
      }
      const before = warnings.length;
      const r = resourceAttributes({ serviceName: 'svc' }, { OTEL_RESOURCE_ATTRIBUTES: value }, 'nodejs');
      const got = Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('telemetry.sdk.') && k !== 'service.name'));
      const expected = Object.fromEntries(Object.entries(want ?? {}).filter(([k]) => !k.startsWith('telemetry.sdk.') && k !== 'service.name'));
      assert.deepEqual(got, expected, value);
      if (want === null) {
        // Warnings are once per text, and at most about 100 in all: the first ones are checked.
        if (++discarded <= 50) assert.ok(warnings.length > before || warnings.some((w) => w.join(' ').includes(value)), `warned: ${value}`);
      } else assert.equal(warnings.length, before, `no warning: ${value}`);
    }
    assert.ok(discarded > 200 && discarded < 1800, `${discarded} discarded`);
  } finally {
    console.warn = warn;
    setDebug(false);
  }
});
