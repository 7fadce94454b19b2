// instrument(): wraps a Workers handler so each invocation is a span, the
// incoming trace is continued, outgoing fetches are its children, and the
// spans leave through ctx.waitUntil after the response.
import type { Attributes, Span } from '../src/types.js';
import type { Tracer } from '../src/tracer.js';
import type { ConfigInput, ExecutionContext, Handler, MessageBatch, ScheduledController } from './types.js';
import { internalError } from '../src/diag.js';
import { resolveConfig } from './config.js';
import { createWorkerTracer } from './tracer.js';
import { close, current, enter } from './context.js';
import { type FetchTracing, override, tracedEnv, tracedFetch } from './fetch.js';
import { recordFailure, recordStatus, serverAttributes } from './attributes.js';

interface State extends FetchTracing {
  readonly route: ((request: Request) => string | undefined) | undefined;
  readonly ignore: (request: Request) => boolean;
}

/** A CORS preflight: browsers send it without traceparent, before the real request. */
const isPreflight = (r: Request): boolean => r.method === 'OPTIONS' && r.headers.has('access-control-request-method');

let coldStart = true;
let globalTracer: Tracer | undefined;
let fetchPatched = false;
const requestSpans = new WeakMap<Request, Span>();

/** The SERVER span of `request` (the one the wrapped fetch handler got), for `http.route` or custom children. */
export function getSpan(request: Request): Span | undefined {
  return requestSpans.get(request);
}

/** The tracer made by `instrument`, once the first invocation has started. */
export function getTracer(): Tracer | undefined {
  return globalTracer;
}

async function setup<E>(config: ConfigInput<E>, env: E): Promise<State | null> {
  const r = resolveConfig(config, env);
  if (r.disabled) return null;
  const original = globalThis.fetch;
  const tracer = await createWorkerTracer(r, (input, init) => original.call(globalThis, input, init));
  if (!tracer) return null;
  globalTracer = tracer;
  const c = r.config;
  const state: State = { tracer, redact: c.redactQuery, propagateTo: c.propagateTo, endpoint: r.endpoint, route: c.route, ignore: c.ignore ?? isPreflight };
  if (!fetchPatched) {
    fetchPatched = true;
    globalThis.fetch = tracedFetch(original, globalThis, state, () => current()?.span);
  }
  return state;
}

/**
 * Wraps `handler`'s fetch, scheduled and queue handlers. `config` may be a
 * function of the env; the tracer is made on the first invocation. Never
 * throws: when tracing cannot start, the handler runs untraced.
 */
export function instrument<E, H extends Handler<E>>(handler: H, config: ConfigInput<E>): H {
  let ready: Promise<State | null> | undefined;
  const out = { ...handler };

  async function run<R>(
    trigger: string,
    env: E,
    ctx: ExecutionContext,
    begin: (s: State, attrs: Attributes) => Span,
    call: (env: E, ctx: ExecutionContext) => R | Promise<R>,
    done?: (span: Span, result: R) => void,
    skip?: (s: State) => boolean,
  ): Promise<R> {
    const s = await (ready ??= setup(config, env).catch((e: unknown) => (internalError(e), null)));
    let span: Span;
    let waits: Array<Promise<unknown>>;
    let tracedCtx: ExecutionContext;
    let tracedEnvironment: E;
    if (!s || skipped(s, skip)) return call(env, ctx);
    try {
      const attrs: Attributes = { 'faas.coldstart': coldStart, 'faas.trigger': trigger };
      coldStart = false;
      span = begin(s, attrs);
      waits = [];
      tracedCtx = override(ctx, 'waitUntil', (p: Promise<unknown>) => {
        waits.push(p);
        ctx.waitUntil(p);
      });
      tracedEnvironment = tracedEnv(env, s, span);
    } catch (e) {
      internalError(e); // our failure: the handler runs untraced
      return call(env, ctx);
    }
    const inv = { span };
    try {
      const result = await enter(inv, () => s.tracer.withSpan(span, () => call(tracedEnvironment, tracedCtx)));
      if (done) done(span, result);
      return result;
    } catch (e) {
      recordFailure(span, e);
      throw e; // the user's own exception: the runtime answers it as before
    } finally {
      span.end();
      close(inv);
      try {
        // After the response and after the handler's own waitUntil work.
        ctx.waitUntil(Promise.allSettled(waits).then(() => s.tracer.flush()));
      } catch (e) {
        internalError(e);
      }
    }
  }

  const skipped = (s: State, skip: ((s: State) => boolean) | undefined): boolean => {
    try {
      return skip?.(s) === true;
    } catch (e) {
      internalError(e); // a throwing user predicate means "trace it"
      return false;
    }
  };

  const h = handler as Handler<E>;
  if (typeof h.fetch === 'function') {
    out.fetch = (request: Request, env: E, ctx: ExecutionContext) =>
      run(
        'http',
        env,
        ctx,
        (s, attrs) => {
          const route = s.route?.(request);
          const name = serverAttributes(request, new URL(request.url), route, s.redact, attrs);
          const span = s.tracer.startSpan(name, { kind: 1, attributes: attrs }, s.tracer.extract(request.headers) ?? null);
          requestSpans.set(request, span);
          return span;
        },
        (env2, ctx2) => h.fetch!(request, env2, ctx2),
        (span, res) => {
          const status = res instanceof Response ? res.status : 0;
          // Server spans: only 5xx is an error (4xx is the client's).
          if (status) recordStatus(span, status, 500);
        },
        (s) => s.ignore(request),
      );
  }
  if (typeof h.scheduled === 'function') {
    out.scheduled = (controller: ScheduledController, env: E, ctx: ExecutionContext) =>
      run(
        'timer',
        env,
        ctx,
        (s, attrs) => {
          attrs['faas.cron'] = controller.cron;
          attrs['faas.time'] = new Date(controller.scheduledTime).toISOString();
          return s.tracer.startSpan(`scheduled ${controller.cron}`, { attributes: attrs }, null);
        },
        (env2, ctx2) => h.scheduled!(controller, env2, ctx2),
      );
  }
  if (typeof h.queue === 'function') {
    out.queue = (batch: MessageBatch, env: E, ctx: ExecutionContext) =>
      run(
        'pubsub',
        env,
        ctx,
        (s, attrs) => {
          attrs['messaging.system'] = 'cloudflare_queues';
          attrs['messaging.operation.type'] = 'process';
          attrs['messaging.destination.name'] = batch.queue;
          attrs['messaging.batch.message_count'] = batch.messages.length;
          return s.tracer.startSpan(`process ${batch.queue}`, { kind: 4, attributes: attrs }, null);
        },
        (env2, ctx2) => h.queue!(batch, env2, ctx2),
      );
  }
  return out as H;
}
