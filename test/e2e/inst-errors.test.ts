// What the errors instrumentation records for values the page throws or
// rejects with (Chromium): generated values, each checked against what the
// page itself can say about it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventAttrs, initCode, named, rng, startEnv, word } from './inst-env.js';

test('Chromium: errors and rejections whose value cannot be made a string are recorded (24 generated values)', async (t) => {
  const r = rng(8081);
  // Kinds: a null-prototype object, a throwing toString, a throwing Symbol.toPrimitive; each tagged so it is told apart.
  const values = Array.from({ length: 24 }, (_, i) => ({ kind: Math.floor(r() * 3), tag: `T${i}${word(r, 5)}`, how: r() < 0.5 ? 'reject' : 'throw' }));
  const { site, c, newPage } = await startEnv(t, {});
  const page = await newPage();
  await page.goto(site.url);
  await page.evaluate(initCode(c.url, { instrumentations: { interactions: false, webVitals: false, longTasks: false } }));
  await page.evaluate(`(${JSON.stringify(values)}).forEach(({ kind, tag, how }, i) => {
    const v = kind === 0 ? Object.create(null, { [Symbol.toStringTag]: { value: tag } })
      : kind === 1 ? { [Symbol.toStringTag]: tag, toString() { throw new Error('no'); } }
      : { [Symbol.toStringTag]: tag, [Symbol.toPrimitive]() { throw new Error('no'); } };
    if (how === 'reject') Promise.reject(v);
    else setTimeout(() => { throw v; }, i);
  })`);
  const rejects = values.filter((v) => v.how === 'reject').length;
  await c.waitFor(() => named(c, 'unhandledrejection').length === rejects && named(c, 'error').length === values.length - rejects, 10_000);
  for (const v of values) {
    const span = named(c, v.how === 'reject' ? 'unhandledrejection' : 'error').find((s) => s.status.message.includes(v.tag));
    assert.ok(span, `a span for ${v.tag}`);
    assert.equal(span.status.message, `[object ${v.tag}]`);
    assert.equal(span.status.code, 2);
    assert.ok(span.events.some((e) => e.name === 'exception'));
  }
});
