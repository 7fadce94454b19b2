// wasmtrace for Cloudflare Workers: instrument() from the worker entry; the
// protobuf Wasm module (imported as a module in Workers) is counted beside it.
import { instrument } from '../../worker/index.ts';

const handler = { fetch: async () => new Response('ok') };
export default instrument(handler, (env) => ({ serviceName: 'edge', endpoint: env.OTLP_ENDPOINT }));
