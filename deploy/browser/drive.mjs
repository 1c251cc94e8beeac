// Drives headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) through one page,
// for the collector's browser tests: `node drive.mjs < steps.json`, where steps.json is
// {"url": ..., "steps": [...]} and each step one of
//   {"eval": "js expression"}            its awaited value is printed
//   {"waitFor": "js expression", "timeout": ms, "polling": ms}   until it is truthy
//   {"click": "css selector"}
//   {"screenshot": "path.png"}
//   {"goto": "url"}                      navigates away (the page left: its unload hooks run)
//   {"close": true}                      closes the page (unload: beacons, keepalive)
// Prints one JSON line per step ({"step": i, "value": ...}) and the page's console
// messages ({"console": ...}); exits 1 on the first failing step.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const plan = JSON.parse(readFileSync(0, 'utf8'));
const profile = mkdtempSync(join(tmpdir(), 'journeys-chromium-'));
const out = (doc) => process.stdout.write(JSON.stringify(doc) + '\n');
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1100, height: 800 },
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
let code = 0;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => out({ console: `${m.type()}: ${m.text()}` }));
  page.on('pageerror', (e) => out({ console: `pageerror: ${e.message}` }));
  await page.goto(plan.url);
  for (const [i, step] of plan.steps.entries()) {
    let value = null;
    if (step.eval) value = await page.evaluate(step.eval);
    else if (step.waitFor) {
      await page.waitForFunction(step.waitFor, null, {
        timeout: step.timeout || 30000,
        polling: step.polling || 'raf',
      });
    } else if (step.click) await page.click(step.click);
    else if (step.goto) await page.goto(step.goto);
    else if (step.screenshot) await page.screenshot({ path: step.screenshot, fullPage: true });
    else if (step.close) await page.close({ runBeforeUnload: true });
    out({ step: i, value });
  }
} catch (e) {
  out({ error: String(e && e.message ? e.message : e).slice(0, 2000) });
  code = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
