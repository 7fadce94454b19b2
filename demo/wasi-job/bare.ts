// The demo job's arithmetic without tracing, built only by bench/wasi.mjs with
// the same flags as demo.wasm: the size difference is the library's share.
import { exit } from "./exit";

const PRICES: f64[] = [12.5, 3.99, 27.0, 8.25, 119.0, 0.99];

function priceOrder(order: i32, items: i32): f64 {
  let subtotal: f64 = 0;
  for (let k = 0; k < items; k++) subtotal += unchecked(PRICES[(order * 7 + k) % PRICES.length]);
  const rate = subtotal > 100 ? 0.1 : 0;
  return Math.round(subtotal * (1 - rate) * 1.2 * 100) / 100;
}

let sum: f64 = 0;
for (let o = 0; o < 3; o++) sum += priceOrder(o, 1 + (o % 6));
exit(sum > 0 ? 0 : 1);
