// The clock replaced by a counter, for both SDKs at once: performance.now()
// and Date.now() advance by a fixed step per read. What remains of the
// per-span cost is each SDK's own work (docs/platform.md, "Clocks").

/** Installs the counter; returns a function that restores the real clocks. */
export function installFakeClock(stepMs = 0.001) {
  const perf = globalThis.performance;
  const hadOwn = Object.prototype.hasOwnProperty.call(perf, 'now');
  const realPerfNow = perf.now;
  const realDateNow = Date.now;
  const base = realDateNow();
  let t = realPerfNow.call(perf);
  perf.now = () => (t += stepMs);
  Date.now = () => base + Math.floor(t);
  return () => {
    if (hadOwn) perf.now = realPerfNow;
    else delete perf.now;
    Date.now = realDateNow;
  };
}

/** Runs `fn` with the counter clock installed, restoring the real clocks after. */
export async function withFakeClock(fn) {
  const restore = installFakeClock();
  try {
    return await fn();
  } finally {
    restore();
  }
}
