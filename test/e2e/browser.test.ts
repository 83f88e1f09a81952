import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, serveCli, startCli, stopCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeCsv } from '../helpers/files.js';

/** Debian's chromium (.ci/run installs it); playwright-core drives it and downloads no browser. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/**
 * The README's screenshots, rewritten only when asked (UPDATE_SCREENSHOTS=1 npm test): a plain test
 * run leaves the checkout as it was and writes them to a temp dir.
 */
const SHOTS = process.env['UPDATE_SCREENSHOTS']
  ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'braze-import-shots-'));
/** A name a DNS rebinding attack would use: Chromium resolves it to loopback (see the launch flags). */
const EVIL = 'rebind.evil.example';

const KEY = 'browser-test-key';
// Slow answers, so that the run is seen going on the page before it ends.
const emu = useEmulator(KEY, { faults: { latencyMs: 60 } });

let browser: Browser;
let dashboard: Awaited<ReturnType<typeof serveCli>>;
let url: string;
let env: NodeJS.ProcessEnv;
/** Every host the browser asked for something: the dashboard must need nothing but itself. */
const hostsAsked = new Set<string>();

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1500, height: 820 } });
  page.on('request', (r) => hostsAsked.add(new URL(r.url()).host));
  await page.goto(`${url}${path}`);
  return page;
}

const available = existsSync(CHROMIUM) || Boolean(process.env['CI']);

describe.skipIf(!available)('the dashboard in a real browser', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    env = emu.env();
    dashboard = await serveCli(
      ['dashboard', '--port', '0', '--allow-actions'],
      env,
      /Dashboard on (http:\/\/\S+)\n/,
    );
    url = dashboard.found;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As /work/.library/env/machines/node-svc.md says works here: no sandbox as root, no network of
      // Chromium's own (this machine refuses it); EVIL resolves to loopback, as after a rebinding.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=MAP ${EVIL} 127.0.0.1`,
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dashboard) await stopCli(dashboard.child);
    if (!process.env['UPDATE_SCREENSHOTS']) rmSync(SHOTS, { recursive: true, force: true });
  });

  it('shows a run going and reaching its final status with the right counts, then its page and dead letters', async () => {
    const { path } = writeCsv(emu.dir, 6000, 91, 0.02);
    const page = await open('/');
    const run = startCli(['run', path, '--run-id', 'browser-run', '--json', '--concurrency', '4'], env);
    run.stdin?.end();
    // The page reloads itself when a run appears, and updates its cells while it goes.
    const row = page.locator('tr[data-run="browser-run"]');
    await row.waitFor({ timeout: 60_000 });
    const status = row.locator('[data-field="status"]');
    expect(await status.textContent()).toMatch(/^(reading|sending|completed_with_errors)$/);
    await expect
      .poll(() => status.textContent(), { timeout: 60_000, interval: 250 })
      .toBe('completed_with_errors');
    const result = await run.result;
    expect(result.code).toBe(3);
    const summary = JSON.parse(result.stdout) as {
      rows: { rejected: number };
      objects: { accepted: number; failed: number };
    };
    const n = (v: number) => v.toLocaleString('en-US');
    await expect
      .poll(() => row.locator('[data-field="accepted"]').textContent(), { timeout: 10_000 })
      .toBe(n(summary.objects.accepted));
    expect(await row.locator('[data-field="rejected"]').textContent()).toBe(n(summary.rows.rejected));
    expect(await row.locator('[data-field="failed"]').textContent()).toBe(n(summary.objects.failed));
    expect(await row.locator('[data-field="read"]').textContent()).toBe('100%');
    await page.screenshot({ path: join(SHOTS, 'runs.png') });

    await row.locator('a').first().click();
    await page.waitForURL(`${url}/runs/browser-run`);
    const letters = page.locator('#dead-letters tbody tr');
    expect(await letters.count()).toBeGreaterThan(0);
    const counted = await letters.locator('td.num').allTextContents();
    expect(counted.reduce((sum, c) => sum + Number(c.replaceAll(',', '')), 0)).toBe(
      summary.rows.rejected + summary.objects.failed,
    );
    await page.screenshot({ path: join(SHOTS, 'run.png'), fullPage: true });

    // The export downloads as the CLI writes it.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('braze-import-browser-run.dead-letters.csv');
    const saved = join(emu.dir, 'downloaded.csv');
    await download.saveAs(saved);
    const cli = await runCli(['dlq', 'export', '--run', 'browser-run', '--format', 'csv'], env);
    expect(readFileSync(saved, 'utf8')).toBe(cli.stdout);
    await page.close();
  }, 180_000);

  it('opens the queues at /queues, with nothing fetched from another host', async () => {
    const { path } = writeCsv(emu.dir, 500, 92, 0);
    // Enqueued and sent by nobody (no worker): its queue waits, for bull-board to show.
    expect((await runCli(['run', path, '--enqueue-only', '--run-id', 'queued-run'], env)).code).toBe(0);
    const page = await open('/queues');
    await page.getByText('track.queued-run').first().click({ timeout: 30_000 });
    // Its jobs (groups of 8 chunks) are listed, each as a summary (run, first chunk, chunks, counts,
    // lines), never the records.
    await page
      .getByText(/^queued-run-g8-\d+$/)
      .first()
      .waitFor({ timeout: 30_000 });
    expect(await page.content()).not.toContain('@example.com');
    await page.screenshot({ path: join(SHOTS, 'queues.png') });
    await page.close();
    expect([...hostsAsked]).toEqual([new URL(url).host]);
  }, 60_000);

  it('cannot be framed by another page', async () => {
    const page = await browser.newPage();
    const refusals: string[] = [];
    page.on('console', (m) => {
      if (/frame-ancestors|X-Frame-Options/.test(m.text())) refusals.push(m.text());
    });
    await page.setContent(
      `<h1>a page of another site</h1><iframe src="${url}/" width="800" height="400"></iframe>`,
    );
    await expect.poll(() => refusals.length, { timeout: 10_000 }).toBeGreaterThan(0);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(await frame?.locator('header').count()).toBe(0);
    await page.close();
  });

  it('refuses a foreign Host (DNS rebinding) and a write from a foreign Origin', async () => {
    const port = new URL(url).port;
    const page = await browser.newPage();
    const rebound = await page.goto(`http://${EVIL}:${port}/`);
    expect(rebound?.status()).toBe(421);
    expect(await page.textContent('body')).toContain('misdirected request');
    await page.screenshot({ path: join(SHOTS, 'refused-host.png') });

    // A page of another origin posts a form to pause a run: the dashboard refuses it.
    const evil: Server = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          `<form id="f" method="post" action="${url}/runs/queued-run/pause"></form><script>document.getElementById('f').submit()</script>`,
        );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const answer = page.waitForResponse((r) => r.url().endsWith('/runs/queued-run/pause'));
      await page.goto(`http://${EVIL}:${(evil.address() as AddressInfo).port}/`);
      expect((await answer).status()).toBe(403);
      const view = (await (await fetch(`${url}/api/runs/queued-run`)).json()) as {
        paused: boolean;
        status: string;
      };
      expect(view).toMatchObject({ paused: false, status: 'sending' });
    } finally {
      evil.close();
      await page.close();
    }
  });
});
