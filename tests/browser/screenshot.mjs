// Saves a screenshot of a running dashboard, e.g. for docs/dashboard.png:
//   node tests/browser/screenshot.mjs http://127.0.0.1:8080 "$(cat var/admin.key)" docs/dashboard.png [en]
import { chromium } from 'playwright-core';

const [url, key, out, lang = 'zh'] = process.argv.slice(2);
if (!url || !key || !out) {
  console.error('usage: node screenshot.mjs URL KEY OUT.png [zh|en]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.addInitScript((l) => localStorage.setItem('cityguard.lang', l), lang);
  await page.goto(url + '/');
  await page.fill('#key', key);
  await page.click('#signin-button');
  await page.waitForSelector('#conn[data-state="live"]');
  const first = page.locator('tr.alarm-row').first();
  if (await first.count()) {
    await first.click();
    await page.waitForSelector('#chart svg, #chart .hint');
  }
  await page.waitForTimeout(500);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`saved ${out}`);
} finally {
  await browser.close();
}
