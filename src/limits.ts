// Span limits: the `limits` option, else the OpenTelemetry limit variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#span-limits),
// else OpenTelemetry's defaults. One place for Node, pages and Workers.
import { clampInt, rangeSetting } from './diag.js';
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
 * attribute limit: the smaller of OTEL_EVENT_ and OTEL_LINK_ATTRIBUTE_COUNT_LIMIT
 * when both are set. Bad values warn once, naming the option or variable.
 */
export function resolveLimits(options: unknown, env: Env): Limits {
  const o = (options && typeof options === 'object' ? options : {}) as LimitOptions;
  /** The first of `names` set in the env, within min..max (else `def`, with a warning). */
  const fromEnv = (names: string[], min: number, max: number, def: number): number => {
    const name = names.find((n) => envValue(env, n) !== undefined);
    return name ? rangeSetting(name, envValue(env, name), min, max, def) : def;
  };
  const count = (key: keyof LimitOptions, def: number): number => clampInt(o[key], 0, MAX_COUNT, def, 'limits.' + key);
  const general = fromEnv(['OTEL_ATTRIBUTE_COUNT_LIMIT'], 0, MAX_COUNT, 128);
  const nested = Math.min(fromEnv(['OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT'], 0, MAX_COUNT, general), fromEnv(['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT'], 0, MAX_COUNT, general));
  // The variables default to no limit; ours is 4096, and longer ones are cut to what the IO area holds.
  const length = Math.min(MAX_VALUE_LENGTH, fromEnv(['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'], 1, Number.MAX_SAFE_INTEGER, 4096));
  return {
    attributes: count('attributes', fromEnv(['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT'], 0, MAX_COUNT, general)),
    events: count('events', fromEnv(['OTEL_SPAN_EVENT_COUNT_LIMIT'], 0, MAX_COUNT, 128)),
    links: count('links', fromEnv(['OTEL_SPAN_LINK_COUNT_LIMIT'], 0, MAX_COUNT, 128)),
    attributesPerEvent: count('attributesPerEvent', nested),
    attributeValueLength: clampInt(o.attributeValueLength, 1, MAX_VALUE_LENGTH, length, 'limits.attributeValueLength'),
  };
}
