// Which batch delivery is exporting, and how far the SDK's fetch wrapper
// (browser/util.ts) has taken its request: a pagehide listener Firefox ends
// inside the transport call leaves a batch whose request may or may not have
// been made; the next listener reads this to tell (pipeline.ts: retake()).
// Plain fields, set with no call between them and fetch(), so that an end
// cannot fall between the mark and what it marks.

export const exporting: {
  /** The batch whose transport call is under way (delivery's own object). */
  _batch: unknown;
  /** The last batch whose request reached the SDK's fetch wrapper. */
  _entered: unknown;
  /** The last batch whose request the wrapper passed on to the fetch below it. */
  _passed: unknown;
} = { _batch: undefined, _entered: undefined, _passed: undefined };
