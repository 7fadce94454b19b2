// The SDK in Chromium (playwright-core): every scenario of sdk-scenarios.ts.
import { chromiumDriver } from './sdk-env.js';
import { registerScenarios } from './sdk-scenarios.js';

registerScenarios('Chromium', chromiumDriver, ['LCP', 'FCP', 'TTFB', 'CLS', 'INP']);
