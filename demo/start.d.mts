// Types of start.mjs (a plain ESM file so that `npm start` needs no build step for it).
import type { RunningCollector } from './collector/index.mjs';

export interface DemoPorts {
  /** OTLP/HTTP receiver and trace viewer; default 4318. */
  collector: number;
  /** The shop page; default 8080. */
  shop: number;
  /** The example worker in workerd (the shop's API); default 8787. */
  api: number;
  /** The pricing service that runs the WASI job; default 8788. */
  pricing: number;
}

export interface DemoOptions {
  /** Each 0 picks a free port. */
  ports?: Partial<DemoPorts>;
  /** Print nothing (no URLs, no ready line, no workerd warnings). */
  quiet?: boolean;
  /** How the WASI job runs; default `wasmedge` when it is on PATH, else `node:wasi` with the socket shim. */
  runtime?: 'wasmedge' | 'node:wasi';
}

export interface RunningDemo {
  /** The shop page, e.g. http://127.0.0.1:8080/ */
  shopUrl: string;
  /** The trace viewer, e.g. http://127.0.0.1:4318/ */
  viewerUrl: string;
  /** The viewer's JSON API, e.g. http://127.0.0.1:4318/api (GET /traces, /traces/:id). */
  viewerApiUrl: string;
  /** The collector's base URL. */
  collectorUrl: string;
  /** The OTLP/HTTP traces endpoint. */
  tracesUrl: string;
  /** The worker's origin, e.g. http://127.0.0.1:8787 (POST /api/checkout). */
  apiUrl: string;
  /** The pricing service's origin (POST /charge). */
  pricingUrl: string;
  runtime: 'wasmedge' | 'node:wasi';
  collector: RunningCollector;
  /** Stops every piece; safe to call twice. */
  close(): Promise<void>;
}

export const DEFAULT_PORTS: Readonly<DemoPorts>;
export function startDemo(options?: DemoOptions): Promise<RunningDemo>;
