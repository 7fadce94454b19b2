// OpenTelemetry environment variables, read as the specification says
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
// an empty value is the same as an unset one, and enum values are
// case-insensitive. Every entry (Node, a page's `env` option, a Worker's
// env bindings) reads them through here.
import { badSetting, warnOnce } from './diag.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The trimmed value of `name`; undefined when unset or empty. */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return (typeof v === 'string' && v.trim()) || undefined;
}

/** OTEL_EXPORTER_OTLP_TRACES_<name>, else OTEL_EXPORTER_OTLP_<name>. */
export const otlpEnv = (env: Env, name: string): string | undefined =>
  envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_' + name) ?? envValue(env, 'OTEL_EXPORTER_OTLP_' + name);

/** An enum-valued OTLP variable, lower-cased. */
export const otlpEnum = (env: Env, name: string): string | undefined => otlpEnv(env, name)?.toLowerCase();

/**
 * The traces endpoint the env gives: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
 * it is, else OTEL_EXPORTER_OTLP_ENDPOINT with `/v1/traces` appended to its
 * path (before a query or fragment: `?key=v` stays the query).
 */
export function envEndpoint(env: Env): string | undefined {
  const base = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  return envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? base?.replace(/\/*([?#]|$)/, '/v1/traces$1');
}

/**
 * The longest export timeout, ms; also what a timeout of 0 is taken as. The
 * specification's Timeout type: 0 means no limit, and "implementations MAY
 * treat no limit as 'a very long time'" (configuration/common.md).
 */
export const MAX_TIMEOUT_MS = 600_000;

/**
 * The `disabled` option, else OTEL_SDK_DISABLED: only "true", in any case,
 * disables. An option that is no boolean warns once and counts as unset.
 */
export function sdkDisabled(disabled: unknown, env: Env): boolean {
  if (typeof disabled === 'boolean') return disabled;
  const fromEnv = envValue(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  if (disabled != null) warnOnce(badSetting('disabled', disabled, fromEnv));
  return fromEnv;
}

/**
 * The head-sampling ratio OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
 * ask for, as text; undefined when they ask for none. The ratio is applied
 * parent-based whatever the sampler's name (a child follows its parent's
 * sampled flag), so `always_on` means `parentbased_always_on`. An unknown
 * sampler is ignored, argument and all, with one warning; the argument alone
 * (no sampler named) is taken as a ratio.
 */
export function envSamplerRatio(env: Env, warn: (message: string) => void): string | undefined {
  const name = envValue(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  const sampler = name?.replace(/^parentbased_/, '');
  const arg = envValue(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (sampler === 'always_on') return '1';
  if (sampler === 'always_off') return '0';
  if (sampler === 'traceidratio') return arg ?? '1';
  if (!name) return arg;
  // An unknown sampler is ignored, and with it its argument (the default, parentbased_always_on).
  warn(badSetting('OTEL_TRACES_SAMPLER', name, 'parentbased_always_on'));
  return undefined;
}
