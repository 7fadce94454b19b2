// The SDK in Firefox ESR (puppeteer-core over WebDriver BiDi): the scenarios of
// sdk-scenarios.ts. Firefox has no layout-shift, longtask or long-animation-frame
// entries (docs/platform.md), so CLS is not expected there.
import { firefoxDriver } from './sdk-env.js';
import { registerScenarios } from './sdk-scenarios.js';

registerScenarios('Firefox', firefoxDriver, ['LCP', 'FCP', 'TTFB', 'INP']);
