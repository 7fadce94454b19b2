// Paths every benchmark shares (file: URLs, ending in '/').
export const root = new URL('../../', import.meta.url);
export const dist = new URL('dist/', root);
export const results = new URL('bench/results/', root);
