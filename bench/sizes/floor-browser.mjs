// The floor of the full browser build: the tracer (floor-tracer.mjs) plus the
// web-vitals attribution build that issue 4 requires, bundled together.
export { createTracer } from '../../src/tracer.ts';
export { createCore } from '../../src/core.ts';
export { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals/attribution';
