// Bundles the browser SDKs the collector is tested against into one file each, for pages
// served without a CDN (dist/, git-ignored): window.AnalyticsBrowser (analytics.js 2.0,
// @segment/analytics-next) and window.RudderAnalytics (@rudderstack/analytics-js v3, its
// "bundled" build, whose plugins are inside rather than loaded from RudderStack's CDN).
// Run by `./run setup` after `npm ci`; `node build.mjs` again after an upgrade.
import { build } from 'esbuild';

const entries = {
  'analytics-next': "import { AnalyticsBrowser } from '@segment/analytics-next'; window.AnalyticsBrowser = AnalyticsBrowser;",
  rudderstack: "import { RudderAnalytics } from '@rudderstack/analytics-js/bundled'; window.RudderAnalytics = RudderAnalytics;",
};

for (const [name, contents] of Object.entries(entries)) {
  await build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    outfile: `dist/${name}.js`,
  });
}
console.log('built dist/analytics-next.js, dist/rudderstack.js');
