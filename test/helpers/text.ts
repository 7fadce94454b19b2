// Text helpers the tests share.

/** The longest prefix of whole code points that fits in `limit` UTF-16 units. */
export function prefix(s: string, limit: number): string {
  let out = '';
  for (const cp of s) {
    if (out.length + cp.length > limit) break;
    out += cp;
  }
  return out;
}
