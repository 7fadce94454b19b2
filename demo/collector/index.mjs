// The development collector and trace viewer that `npm start` runs.
export { startCollector } from './server.mjs';
export { createTraceStore } from './store.mjs';
export { analyzeTrace } from './analysis.mjs';
