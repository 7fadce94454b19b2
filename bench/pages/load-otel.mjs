// Page-load cost, OpenTelemetry JS, set up like wasmtrace's script tag: the
// web SDK (WebTracerProvider + BatchSpanProcessor + OTLP/HTTP exporter) with
// ZoneContextManager and the same instrumentations — document-load, fetch,
// XHR, user-interaction. The page's own script (bench/pageload.mjs) records
// the same one span and flushes it through `window.otelProvider`, as the
// wasmtrace page does through `window.wasmtrace`: a trace then tells the
// SDK's own work from the page's by script URL.
import { WebTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-web';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZoneContextManager } from '@opentelemetry/context-zone';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { XMLHttpRequestInstrumentation } from '@opentelemetry/instrumentation-xml-http-request';
import { UserInteractionInstrumentation } from '@opentelemetry/instrumentation-user-interaction';

const url = `${location.origin}/v1/traces`;
const provider = new WebTracerProvider();
provider.addSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
provider.register({ contextManager: new ZoneContextManager() });
registerInstrumentations({
  tracerProvider: provider,
  instrumentations: [
    new DocumentLoadInstrumentation(),
    new FetchInstrumentation({ ignoreUrls: [url] }),
    new XMLHttpRequestInstrumentation({ ignoreUrls: [url] }),
    new UserInteractionInstrumentation(),
  ],
});
window.otelProvider = provider;
