// The demo WASI job: prices an order (look up items, apply a discount, add
// tax) and traces each step. `run` is shared by the two builds, which differ
// only in how spans leave (see main.ts and lines.ts).
import {
  Exporter, Options, Span, SpanKind, StatusCode, Tracer, init, shutdown,
} from "../../assembly/index";
import { getenv } from "../../assembly/wasi/env";

const PRICES: f64[] = [12.5, 3.99, 27.0, 8.25, 119.0, 0.99];
const NAMES: string[] = ["mug", "tea", "kettle", "filter", "grinder", "spoon"];

function lookUp(tracer: Tracer, item: i32): f64 {
  const span = tracer.startActiveSpan("catalog.lookup", SpanKind.CLIENT);
  const i = item % PRICES.length;
  span.setAttribute("catalog.item", unchecked(NAMES[i]));
  span.setAttribute("catalog.price", unchecked(PRICES[i]));
  span.end();
  return unchecked(PRICES[i]);
}

function priceOrder(tracer: Tracer, order: i32, items: i32): f64 {
  const span = tracer.startActiveSpan("price-order");
  span.setAttribute("order.id", "ord-" + order.toString());
  span.setAttribute<i64>("order.items", items);
  let subtotal: f64 = 0;
  for (let k = 0; k < items; k++) subtotal += lookUp(tracer, order * 7 + k);
  const discount = tracer.startActiveSpan("apply-discount");
  const rate = subtotal > 100 ? 0.1 : 0;
  discount.setAttribute("discount.rate", rate);
  discount.setAttribute<bool>("discount.applied", rate > 0);
  if (rate > 0) discount.addEvent("discount.applied").setEventAttribute("discount.code", "BULK10");
  discount.end();
  const tax = tracer.startActiveSpan("add-tax");
  const total = Math.round(subtotal * (1 - rate) * 1.2 * 100) / 100;
  tax.setAttribute("tax.rate", 0.2);
  tax.setAttribute<string[]>("tax.regions", ["EU", "FR"]);
  tax.setAttribute<i64[]>("tax.brackets", [0, 10, 20]);
  tax.end();
  if (items > 4) {
    span.recordException("too many items for express shipping", "ShippingError");
    span.setStatus(StatusCode.ERROR, "express shipping refused");
  } else {
    span.setStatus(StatusCode.OK);
  }
  span.setAttribute("order.total", total);
  span.end();
  return total;
}

/** Prices ORDERS orders (default 3) under one job span, exports, and returns the exit code. */
export function run(exporter: Exporter): i32 {
  const tracer = init({ serviceName: "pricing-job", exporter, endpoint: "http://localhost:4318/v1/traces" } as Options);
  const ordersText = getenv("ORDERS");
  const orders = ordersText.length ? I32.parseInt(ordersText) : 3;
  const job: Span = tracer.startActiveSpan("pricing-job", SpanKind.CONSUMER);
  job.setAttribute<i64>("job.orders", orders);
  // The caller's W3C baggage, as a child process or an outgoing request would get it.
  const baggage = tracer.baggage();
  if (baggage.length) job.setAttribute("job.baggage", baggage);
  let sum: f64 = 0;
  for (let o = 0; o < orders && o < 1_000_000; o++) sum += priceOrder(tracer, o, 1 + (o % 6));
  job.setAttribute("job.revenue", Math.round(sum * 100) / 100);
  job.end();
  const lost = shutdown();
  return lost ? 1 : 0;
}
