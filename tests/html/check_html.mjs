// The HTML report in a real browser: Debian's headless Chromium driven by playwright-core.
//
// usage: node check_html.mjs SECAUDIT SOURCE_DIR OUT_DIR
//
// Scans fixtures/demo with --format html and checks, in the page as Chromium renders it: the
// severity counts (test_cli.py's numbers, read from that file), the rows, a severity filter
// and a service filter with the "N of M findings" text, sorting by a column, no network
// request and no console error; takes a screenshot into OUT_DIR. Then scans a tree whose
// path, keys and values hold markup and script, and checks they are shown as text and never
// run. Exits 0 when every check passes, 1 otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [secaudit, src, outDir] = process.argv.slice(2).map((p) => p && path.resolve(p));
if (!secaudit || !src || !outDir) {
  console.error('usage: node check_html.mjs SECAUDIT SOURCE_DIR OUT_DIR');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

// secaudit exits 1 when it reports findings: that is expected here.
function scan(args, cwd) {
  const p = spawnSync(secaudit, ['scan', ...args], { cwd, encoding: 'utf8' });
  if (p.status !== 0 && p.status !== 1) {
    throw new Error(`secaudit ${args.join(' ')}: exit ${p.status}: ${p.stderr}`);
  }
  return p.stdout;
}

// The demo tree's summary as test_cli.py pins it (one place for those numbers).
function pinnedSummary() {
  const py = fs.readFileSync(path.join(src, 'tests/test_cli.py'), 'utf8');
  const m = py.match(/assertEqual\(rep\["summary"\], (\{[^}]*\})\)/);
  assert.ok(m, 'test_cli.py: the demo summary assertion was not found');
  return JSON.parse(m[1]);
}

const failures = [];
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n     ${String(e.stack || e).split('\n').join('\n     ')}`);
  }
}

// A page that records every request but its own document, console errors and dialogs.
async function open(browser, file) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const url = pathToFileURL(file).href;
  const log = { requests: [], errors: [], dialogs: [] };
  page.on('request', (r) => {
    if (r.url() !== url) log.requests.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('dialog', (d) => {
    log.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  // anything but the report itself is refused (and recorded above)
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue()
                                                                     : route.abort()));
  await page.goto(url, { waitUntil: 'load' });
  return { page, log };
}

const visibleRows = (page) => page.locator('#findings tbody tr.finding:visible');

async function main() {
  const report = path.join(outDir, 'demo.html');
  scan(['--format', 'html', '-o', report, 'fixtures/demo'], src);
  const json = JSON.parse(scan(['--format', 'json', 'fixtures/demo'], src));
  const want = pinnedSummary();

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const { page, log } = await open(browser, report);

    await check('severity counts shown are the pinned ones', async () => {
      assert.deepEqual(
        { critical: json.summary.critical, high: json.summary.high,
          medium: json.summary.medium, low: json.summary.low, total: json.summary.total },
        { critical: want.critical, high: want.high, medium: want.medium, low: want.low,
          total: want.total });
      for (const sev of ['critical', 'high', 'medium', 'low', 'info', 'errors']) {
        const n = await page.locator(`#count-${sev}`).innerText();
        assert.equal(Number(n), want[sev], sev);
      }
      assert.equal(Number(await page.locator('#total').innerText()), want.total);
      assert.match(await page.title(),
        new RegExp(`^secaudit report: ${want.total} findings \\(${want.critical} critical, ` +
                   `${want.high} high, ${want.medium} medium, ${want.low} low\\)$`));
    });

    await check('one table row per finding, all visible', async () => {
      assert.equal(await page.locator('#findings tbody tr.finding').count(), want.total);
      assert.equal(await visibleRows(page).count(), want.total);
      assert.equal(await page.locator('#shown').innerText(),
                   `${want.total} of ${want.total} findings`);
      // each row: severity, rule, service, file:line:col, title/message, rationale, fix
      const first = json.findings[0];
      const row = page.locator('#findings tbody tr.finding').first();
      assert.equal(await row.locator('td').nth(1).innerText(), first.rule_id);
      assert.equal(await row.locator('td').nth(3).innerText(),
                   `${first.file}:${first.line}:${first.column}`);
      await row.locator('summary').click();
      assert.match(await row.locator('details').innerText(), /Why:[\s\S]+Fix:/);
      await row.locator('summary').click();
      // "Expand all" opens every finding's rationale and remediation, and closes them again
      await page.click('#expand-all');
      assert.equal(await page.locator('#findings details[open]').count(), want.total);
      assert.equal(await page.locator('#expand-all').innerText(), 'Collapse all');
      await page.click('#expand-all');
      assert.equal(await page.locator('#findings details[open]').count(), 0);
    });

    await check('the SVG charts are drawn', async () => {
      assert.equal(await page.locator('#chart-severity rect title').count(), 4);
      const services = [...new Set(json.findings.map((f) => f.service))].sort();
      assert.deepEqual(await page.locator('#chart-service text[text-anchor=end]').allTextContents(),
                       services);
      const box = await page.locator('#chart-service').boundingBox();
      assert.ok(box && box.width > 100 && box.height > 50, 'chart has a size');
    });

    await check('severity filter: critical', async () => {
      await page.selectOption('#filter-severity', 'critical');
      assert.equal(await visibleRows(page).count(), want.critical);
      assert.equal(await page.locator('#shown').innerText(),
                   `${want.critical} of ${want.total} findings`);
      const sevs = await visibleRows(page).evaluateAll((rs) => rs.map((r) => r.dataset.severity));
      assert.deepEqual([...new Set(sevs)], ['critical']);
    });

    await check('service filter, alone and with the severity filter', async () => {
      const hba = json.findings.filter((f) => f.service === 'pg-hba');
      await page.selectOption('#filter-service', 'pg-hba');
      assert.equal(await visibleRows(page).count(),
                   hba.filter((f) => f.severity === 'critical').length);
      await page.selectOption('#filter-severity', '');
      assert.equal(await visibleRows(page).count(), hba.length);
      assert.equal(await page.locator('#shown').innerText(),
                   `${hba.length} of ${want.total} findings`);
      const svcs = await visibleRows(page).evaluateAll((rs) => rs.map((r) => r.dataset.service));
      assert.deepEqual([...new Set(svcs)], ['pg-hba']);
      await page.selectOption('#filter-service', '');
      assert.equal(await visibleRows(page).count(), want.total);
      assert.equal(await page.locator('#no-match').isVisible(), false);
    });

    await check('sorting by a column reorders the rows', async () => {
      const rules = () => page.locator('#findings tbody tr.finding')
        .evaluateAll((rs) => rs.map((r) => r.dataset.rule));
      const before = await rules();
      const sorted = [...before].sort();
      assert.notDeepEqual(before, sorted, 'the demo is not in rule order already');
      await page.click('th button[data-sort=rule]');
      assert.deepEqual(await rules(), sorted);
      assert.equal(await page.locator('th:has(button[data-sort=rule])')
        .getAttribute('aria-sort'), 'ascending');
      await page.click('th button[data-sort=rule]');
      assert.deepEqual(await rules(), [...sorted].reverse());
      await page.click('th button[data-sort=severity]');
      const sevs = await page.locator('#findings tbody tr.finding')
        .evaluateAll((rs) => rs.map((r) => Number(r.dataset.rank)));
      assert.deepEqual(sevs, [...sevs].sort((a, b) => b - a));
      assert.equal(sevs[0], 4);
      assert.equal(await page.locator('th:has(button[data-sort=severity])')
        .getAttribute('aria-sort'), 'descending', 'most severe first');
      // sorting keeps the filter
      await page.selectOption('#filter-severity', 'critical');
      assert.equal(await visibleRows(page).count(), want.critical);
      await page.selectOption('#filter-severity', '');
    });

    await page.screenshot({ path: path.join(outDir, 'demo.png'), fullPage: true });
    await page.click('th button[data-sort=severity]');  // back to most severe first
    await page.click('th button[data-sort=severity]');
    await page.screenshot({ path: path.join(outDir, 'demo-top.png') });
    console.log(`     screenshots: ${path.join(outDir, 'demo.png')}, demo-top.png`);

    await check('no network request, no console error', async () => {
      assert.deepEqual(log.requests, []);
      assert.deepEqual(log.errors, []);
      assert.deepEqual(log.dialogs, []);
    });
    await page.close();

    // --- a hostile tree: markup and script in a path, a key and a value -------------------
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'secaudit-html-'));
    try {
      const dir = 'a<b>"c\'&d<script>alert(3)<';
      const root = path.join(tmp, dir);
      fs.mkdirSync(path.join(root, 'etc/postgresql'), { recursive: true });
      fs.writeFileSync(path.join(root, 'etc/postgresql/pg_hba.conf'),
                       'host <img/src=x/onerror=alert(1)> all 0.0.0.0/0 trust\n');
      fs.writeFileSync(path.join(root, 'etc/mongod.conf'),
                       'net:\n  bindIp: "0.0.0.0,</script><script>alert(2)</script>"\n');
      const hostile = path.join(outDir, 'hostile.html');
      scan(['--format', 'html', '-o', hostile, dir], tmp);
      const { page: hp, log: hlog } = await open(browser, hostile);
      await check('hostile path, key and value are shown as text, never run', async () => {
        assert.equal(await hp.locator('script').count(), 1, 'only the report\'s own script');
        assert.equal(await hp.locator('img').count(), 0);
        assert.equal(await hp.evaluate(() => document.querySelectorAll('[onerror]').length), 0);
        const locs = await hp.locator('#findings td.loc').allInnerTexts();
        assert.ok(locs.length > 0 && locs.every((t) => t.startsWith(`${dir}/etc/`)), locs[0]);
        const text = await hp.locator('#findings').innerText();
        assert.ok(text.includes('net.bindIp = 0.0.0.0,</script><script>alert(2)</script>'));
        assert.ok(text.includes("'host <img/src=x/onerror=alert(1)> all 0.0.0.0/0 trust'"));
        assert.equal(await hp.locator('#scope code').innerText(), dir);
        const files = await hp.locator('#findings tbody tr.finding')
          .evaluateAll((rs) => [...new Set(rs.map((r) => r.dataset.file))].sort());
        assert.deepEqual(files, [`${dir}/etc/mongod.conf`, `${dir}/etc/postgresql/pg_hba.conf`]);
        // the filters still work on these rows
        await hp.selectOption('#filter-service', 'pg-hba');
        assert.equal(await visibleRows(hp).count(), 1);
        assert.deepEqual(hlog.dialogs, [], 'no alert() ran');
        assert.deepEqual(hlog.requests, []);
        assert.deepEqual(hlog.errors, []);
      });
      await hp.screenshot({ path: path.join(outDir, 'hostile.png'), fullPage: true });
      await hp.close();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.log(`${failures.length} check(s) failed: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log('all checks passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
