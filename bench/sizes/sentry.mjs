// Sentry for the browser with tracing (browserTracingIntegration).
import * as Sentry from '@sentry/browser';

export function init(dsn) {
  Sentry.init({ dsn, integrations: [Sentry.browserTracingIntegration()], tracesSampleRate: 1 });
}
