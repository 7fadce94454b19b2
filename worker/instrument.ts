// instrument(): wraps a Workers handler so each invocation is a span, the
// incoming trace is continued, outgoing fetches are its children, and the
// spans leave through ctx.waitUntil after the response.
import type { Attributes, Span } from '../src/types.js';
import { type Tracer, createNoopTracer } from '../src/tracer.js';
import type { ConfigInput, ExecutionContext, Handler, MessageBatch, ScheduledController } from './types.js';
import { internalError, warnOnce } from '../src/diag.js';
import { resolveConfig } from './config.js';
import { createWorkerTracer } from './tracer.js';
import { close, enter, invocation, returned, track } from './context.js';
import { type FetchTracing, override, tracedEnv, tracedFetch } from './fetch.js';
import { withBaggage } from '../src/context.js';
import { parseBaggage } from '../src/baggage.js';
import { recordFailure, recordStatus, serverAttributes } from './attributes.js';

/** Internal (`_` names are minified). */
interface State extends FetchTracing {
  /** At an invocation's end: the export that carries its spans, unless one already scheduled will. */
  readonly _ended: () => Promise<unknown>;
  readonly _route: ((request: Request) => string | undefined) | undefined;
  readonly _ignore: ((request: Request) => boolean) | undefined;
}

/** Starts an invocation's span from the handler's first argument; undefined: run it untraced. */
type Begin = (s: State, arg: never, attrs: Attributes) => Span | undefined;

let coldStart = true;
let globalTracer: Tracer | undefined;
let fetchPatched = false;
/** globalThis.fetch before any instrument() patched it. */
let nativeFetch: typeof fetch | undefined;
const requestSpans = new WeakMap<Request, Span>();

/** The SERVER span of `request` (the one the wrapped fetch handler got), for `http.route` or custom children. */
export function getSpan(request: Request): Span | undefined {
  return requestSpans.get(request);
}

/**
 * The tracer made by `instrument`, once the first invocation has
 * started; until then, and whenever tracing is off, one that records nothing
 * (so a handler's spans never throw: call it inside the handler).
 */
export function getTracer(): Tracer {
  return (globalTracer ??= createNoopTracer());
}

async function setup<E>(config: ConfigInput<E>, env: E): Promise<State | null> {
  const r = resolveConfig(config, env);
  // The runtime's fetch, as it was before the first instrument() patched it: exports never go through a traced one.
  const original = (nativeFetch ??= globalThis.fetch);
  const tracing = r && (await createWorkerTracer(r, (input, init) => original.call(globalThis, input, init)));
  if (!tracing) return null;
  const tracer = (globalTracer = tracing._tracer);
  const c = r._c;
  const state: State = { _tracer: tracer, _ended: tracing._ended, _redact: r._redact, _to: r._to, _endpoint: r._endpoint, _route: c.route, _ignore: c.ignore };
  if (!fetchPatched) {
    fetchPatched = true;
    globalThis.fetch = tracedFetch(original, globalThis, state, invocation);
  }
  return state;
}

/** Per handler: `faas.trigger`, and how its span starts. */
const HANDLERS: Record<string, [string, Begin]> = {
  fetch: [
    'http',
    (s, request: Request, attrs) => {
      try {
        // Default: a CORS preflight, which browsers send without traceparent before the real request.
        if (s._ignore ? s._ignore(request) === true : request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) return;
      } catch (e) {
        internalError(e); // a throwing user predicate means "trace it"
      }
      let route: unknown;
      try {
        route = s._route?.(request);
      } catch (e) {
        internalError(e); // a throwing route callback: the span is named without a route, as for none
      }
      const name = serverAttributes(request, typeof route === 'string' ? route : undefined, s._redact, attrs);
      const remote = s._tracer.extract(request.headers);
      const start = (): Span => s._tracer.startSpan(name, { kind: 1, attributes: attrs }, remote ?? null);
      // The caller's baggage goes on with the request's spans, with or without a valid traceparent.
      const span = remote ? start() : withBaggage(parseBaggage(request.headers.get('baggage')), start);
      requestSpans.set(request, span);
      return span;
    },
  ],
  scheduled: [
    'timer',
    (s, controller: ScheduledController, attrs) => {
      attrs['faas.cron'] = controller.cron;
      attrs['faas.time'] = new Date(controller.scheduledTime).toISOString();
      // semconv's FaaS timer span: kind SERVER, as every incoming invocation.
      return s._tracer.startSpan(`scheduled ${controller.cron}`, { kind: 1, attributes: attrs }, null);
    },
  ],
  queue: [
    'pubsub',
    (s, batch: MessageBatch, attrs) => {
      attrs['messaging.system'] = 'cloudflare_queues';
      attrs['messaging.operation.name'] = attrs['messaging.operation.type'] = 'process';
      attrs['messaging.destination.name'] = batch.queue;
      attrs['messaging.batch.message_count'] = batch.messages.length;
      return s._tracer.startSpan(`process ${batch.queue}`, { kind: 4, attributes: attrs }, null);
    },
  ],
};

/**
 * `h`'s own properties, with the methods of its class too (an instance's are
 * on its prototype chain, which a copy leaves behind: `email`, `tail`, …);
 * each method is called on `h`, as the runtime would have.
 */
function methods(h: Record<string, unknown>): Record<string, unknown> {
  const out = { ...h };
  for (let p: object | null = Object.getPrototypeOf(h); p && p !== Object.prototype; p = Object.getPrototypeOf(p))
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p)))
      if (typeof d.value === 'function' && !(k in out)) out[k] = d.value; // a getter is left alone
  for (const k in out) if (typeof out[k] === 'function') out[k] = (out[k] as () => unknown).bind(h);
  return out;
}

/**
 * Wraps `handler`'s fetch, scheduled and queue handlers and keeps its other
 * methods, its class's too (a class itself is returned as it is, with a
 * warning). `config` may be a function of the env; the tracer is made on the
 * first invocation. Never throws: when tracing cannot start, the handler runs
 * untraced.
 */
export function instrument<E, H extends Handler<E>>(handler: H, config: ConfigInput<E>): H {
  // A class (a WorkerEntrypoint) has its handlers on instances, which this does not wrap.
  if (typeof handler === 'function') {
    warnOnce('instrument() takes a handler object, not a class: it runs untraced');
    return handler;
  }
  let ready: Promise<State | null> | undefined;
  const envs = new WeakMap<object, E>();
  const h = handler as unknown as Record<string, (arg: unknown, env: E, ctx: ExecutionContext) => unknown>;
  const out = methods(h);
  for (const key in HANDLERS) {
    const [trigger, begin] = HANDLERS[key]!;
    if (typeof h[key] === 'function') {
      out[key] = async (arg: unknown, env: E, ctx: ExecutionContext) => {
        const s = await (ready ??= setup(config, env).catch((e: unknown) => (internalError(e), null)));
        let span: Span | undefined;
        let tracedCtx = ctx;
        let tracedEnvironment = env;
        const waits: Array<Promise<unknown>> = [];
        try {
          // Traced or not (ignored, tracing off), its waitUntil work is this invocation's: it is in flight until that settles.
          tracedCtx = override(ctx, 'waitUntil', (p: Promise<unknown>) => {
            waits.push(p);
            ctx.waitUntil(p);
          });
          if (s) {
            span = begin(s, arg as never, { 'faas.coldstart': coldStart, 'faas.trigger': trigger });
            if (span) coldStart = false;
            // The runtime gives one env to every invocation (apps cache on it): one traced env for it, traced or not.
            if (env && typeof env === 'object') envs.set(env, (tracedEnvironment = envs.get(env) ?? tracedEnv(env, s, invocation)));
          }
        } catch (e) {
          internalError(e); // our failure: the handler runs untraced
          span = undefined;
        }
        const sp = span;
        const inv = track(sp);
        const run = () => h[key]!(arg, tracedEnvironment, tracedCtx);
        try {
          const result = await (s && sp ? enter(inv, () => s._tracer.withSpan(sp, run)) : run());
          // Server spans: only 5xx is an error (4xx is the client's).
          if (sp && result instanceof Response && result.status) recordStatus(sp, result.status, 500);
          return result;
        } catch (e) {
          if (sp) recordFailure(sp, e);
          throw e; // the user's own exception: the runtime answers it as before
        } finally {
          sp?.end();
          returned(inv);
          try {
            // After the response and after the handler's own waitUntil work, which
            // is still this invocation's: it stays open (in flight) until then.
            ctx.waitUntil(Promise.allSettled(waits).then(() => (close(inv), sp && s?._ended())));
          } catch (e) {
            close(inv);
            internalError(e);
          }
        }
      };
    }
  }
  return out as unknown as H;
}
