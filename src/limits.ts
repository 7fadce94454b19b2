// Span limits: the `limits` option, else the OpenTelemetry limit variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#span-limits),
// else OpenTelemetry's defaults. One place for Node, pages and Workers.
import { badSetting, clampInt, group, rangeSetting, warnOnce } from './diag.js';
import { envValue, type Env } from './env.js';

export interface LimitOptions {
  /** Attributes per span (OpenTelemetry default 128). */
  attributes?: number;
  /** Events per span (default 128). */
  events?: number;
  /** Links per span (default 128). */
  links?: number;
  /** Attributes per event or link (default 128). */
  attributesPerEvent?: number;
  /** Characters kept of a string attribute value (default 4096, at most 16384). */
  attributeValueLength?: number;
}

export type Limits = Required<LimitOptions>;

/** The Wasm side stores counts in 16 bits. */
const MAX_COUNT = 0xffff;
/** A value is written through the 16 KiB IO area. */
const MAX_VALUE_LENGTH = 16384;

/**
 * Each limit from the option, else its span variable, else the general
 * OTEL_ATTRIBUTE_* one, else the default. Events and links share one
 * attribute limit: the smaller of OTEL_EVENT_ and OTEL_LINK_ATTRIBUTE_COUNT_LIMIT.
 * A bad value warns once, naming the option or variable, and the next in
 * line is used; one past what the Wasm side holds is clamped to it, with a
 * warning, as the option is.
 */
export function resolveLimits(options: unknown, env: Env): Limits {
  const o = group<LimitOptions>('limits', options) ?? {};
  /** OTEL_<name>_LIMIT, from min on (else `def`), at most max (clamped). */
  const v = (name: string, def: number, min = 0, max = MAX_COUNT): number => {
    const full = `OTEL_${name}_LIMIT`;
    const n = rangeSetting(full, envValue(env, full), min, Infinity, def);
    if (n > max) warnOnce(badSetting(full, n, max));
    return Math.min(n, max);
  };
  /** The option `key`, within min..max; else `def`. */
  const count = (key: keyof LimitOptions, def: number, min = 0, max = MAX_COUNT): number => clampInt(o[key], min, max, def, 'limits.' + key);
  const general = v('ATTRIBUTE_COUNT', 128);
  // The variables default to no limit; ours is 4096, and longer ones are cut to what the IO area holds.
  const length = v('SPAN_ATTRIBUTE_VALUE_LENGTH', v('ATTRIBUTE_VALUE_LENGTH', 4096, 1, MAX_VALUE_LENGTH), 1, MAX_VALUE_LENGTH);
  return {
    attributes: count('attributes', v('SPAN_ATTRIBUTE_COUNT', general)),
    events: count('events', v('SPAN_EVENT_COUNT', 128)),
    links: count('links', v('SPAN_LINK_COUNT', 128)),
    attributesPerEvent: count('attributesPerEvent', Math.min(v('EVENT_ATTRIBUTE_COUNT', general), v('LINK_ATTRIBUTE_COUNT', general))),
    attributeValueLength: count('attributeValueLength', length, 1, MAX_VALUE_LENGTH),
  };
}
