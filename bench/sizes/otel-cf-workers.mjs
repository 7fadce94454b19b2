// @microlabs/otel-cf-workers: a fetch handler instrumented with its OTLP exporter.
import { instrument } from '@microlabs/otel-cf-workers';

const handler = { fetch: async () => new Response('ok') };
export default instrument(handler, (env) => ({
  exporter: { url: env.OTLP_ENDPOINT },
  service: { name: 'edge' },
}));
