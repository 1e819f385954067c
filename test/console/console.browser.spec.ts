import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromiumMissing, launchChromium, signedIn } from '../../bench/browser';
import { ADMIN_KEY } from '../support/app';
import { parseCsv } from '../support/csv';
import { createLoad, waitFor, waitForStatus } from '../sync/sync-harness';
import { apiKey, subscribe, useWebhookApp, webhookEnv } from '../webhooks/harness';

/**
 * The console in Debian's Chromium (playwright-core): keys of each scope, a load settling on the chart, the asOf
 * cursor read from the API, the review queue's dialog, a reconciliation run, what a key without ops:write sees, a
 * forged write, and axe-core on every page. Skipped, saying why, where /usr/bin/chromium is missing.
 * UPDATE_SCREENSHOTS=1 writes the screenshots to docs/console/ (the README shows them); otherwise to a temp folder.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the browser's globals, used inside page.evaluate callbacks only */
declare const window: any, document: any, localStorage: any, sessionStorage: any, location: any;

const missing = chromiumMissing();
// A laptop with only Node skips them, saying why; CI (CI=true) must run them: .ci/run installs Chromium.
if (missing && process.env.CI !== 'true') process.stdout.write(`\n  skipping the console's browser tests: ${missing}\n\n`);
if (missing && process.env.CI === 'true')
  it('should find Chromium in CI', () => {
    throw new Error(`the browser tests cannot run: ${missing}`);
  });
const describeInBrowser = missing ? describe.skip : describe;

webhookEnv({});
jest.setTimeout(120_000);

const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? path.resolve(__dirname, '../../docs/console')
    : mkdtempSync(path.join(tmpdir(), 'card-ledger-console-'));
mkdirSync(SHOTS, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

// eslint-disable-next-line @typescript-eslint/no-require-imports -- axe's source, injected into the page under test
const AXE_SOURCE: string = require('axe-core').source;

/** axe-core's serious and critical violations on the page as it stands (WCAG 2.x A and AA rules, best practices). */
async function accessibilityProblems(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> = await page.evaluate(
    async () => (await (window as unknown as { axe: { run(): Promise<{ violations: never[] }> } }).axe.run()).violations,
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} at ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(' | ')}`,
    );
}

const attr = (l: Locator, name: string) => l.getAttribute(name);
async function waitForAttr(page: Page, testId: string, name: string, value: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    ([id, n, v]) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute(n) === v,
    [testId, name, value],
    { timeout },
  );
}

describeInBrowser('the console in a real browser', () => {
  // One EnKash attempt: a load whose send fails waits in review at once; a long lookup grace keeps a reversal in
  // flight (409 load_in_flight) long enough to see the API's answer in the dialog; a slow EnKash keeps loads pending.
  const ctx = useWebhookApp({ SYNC_MAX_ATTEMPTS: '1', SYNC_LOOKUP_GRACE_MS: '30000', ENKASH_TIMEOUT_MS: '5000', SYNC_LEASE_MS: '15000' });
  let browser: Browser;
  const keys: Record<'auditor' | 'operator' | 'billing' | 'opsOnly', string> = { auditor: '', operator: '', billing: '', opsOnly: '' };
  const CARD = 'EKCBROWSE1';

  beforeAll(async () => {
    browser = await launchChromium();
    keys.auditor = await apiKey(ctx.app, ['ledger:read']);
    keys.operator = await apiKey(ctx.app, ['ops:write', 'ledger:read']);
    keys.billing = await apiKey(ctx.app, ['loads:write']);
    keys.opsOnly = await apiKey(ctx.app, ['ops:write']);
    await subscribe(ctx.app, undefined, `${ctx.rx.url}/admin`);
    const first = await createLoad(ctx.app, CARD, '40.00');
    await waitForStatus(ctx.app, first.id, ['posted']);
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(() => {
    ctx.sim.state.clearFaults();
    ctx.sim.state.setConfig({ latencyMs: 0 });
  });

  /** A load whose only EnKash attempt failed (an unknown outcome): it waits in review. */
  async function loadInReview(card: string, amount: string) {
    const load = await createLoad(ctx.app, card, amount);
    ctx.sim.state.injectFault({ fault: 'http-503', reference: load.reference, count: 1 });
    return waitForStatus(ctx.app, load.id, ['needs_review']);
  }

  /** A load in review, and the review page signed in with `key` once it lists that load (its row). */
  async function reviewPageWith(key: string, card: string, amount: string) {
    const inReview = await loadInReview(card, amount);
    const { context, page } = await signedIn(browser, ctx.app.url, key, '/console/review');
    const row = page.locator(`tr[data-load="${inReview.id}"]`);
    await row.waitFor();
    return { inReview, context, page, row };
  }

  it('should sign in with a key of each scope, show only what the scope may see, and keep no key in the browser', async () => {
    const expected: Record<string, string[]> = {
      admin: ['Cards', 'Review queue', 'Reconciliation', 'Webhooks'],
      auditor: ['Cards', 'Review queue', 'Reconciliation'],
      operator: ['Cards', 'Review queue', 'Reconciliation'],
      billing: ['Review queue', 'Webhooks'],
      opsOnly: [],
    };
    const signIn = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await signIn.goto(`${ctx.app.url}/console`);
    await signIn.getByLabel('API key').waitFor();
    expect(await accessibilityProblems(signIn)).toEqual([]);
    await shot(signIn, 'sign-in');
    const wrong = await browser.newPage();
    await wrong.goto(`${ctx.app.url}/console`);
    await wrong.getByLabel('API key').fill('ckl_not_a_key_of_ours_0123456789');
    await wrong.getByRole('button', { name: 'Sign in' }).click();
    await wrong.getByRole('alert').getByText('401 unauthorized: unknown or revoked API key').waitFor();
    await Promise.all([signIn.close(), wrong.close()]);

    for (const [who, nav] of Object.entries(expected)) {
      const key = who === 'admin' ? undefined : keys[who as keyof typeof keys];
      const { context, page } = await signedIn(browser, ctx.app.url, key ?? ADMIN_KEY);
      const links = await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents();
      expect({ who, links }).toEqual({ who, links: nav });
      const stored = await page.evaluate(() => [
        JSON.stringify(localStorage),
        JSON.stringify(sessionStorage),
        document.cookie,
        location.href,
      ]);
      const cookies = await context.cookies();
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['card_ledger_session', true, 'Strict']]);
      for (const place of [...stored, ...cookies.map((c) => c.value)]) expect(place).not.toContain(key ?? 'test-admin-key');
      expect(stored.slice(0, 3)).toEqual(['{}', '{}', '']);
      if (who === 'auditor') {
        // Sign out: back to the form, and the session is gone for good (not only the cookie).
        const cookie = `${cookies[0].name}=${cookies[0].value}`;
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByText('Signed out.').waitFor();
        expect(await context.cookies()).toEqual([]);
        expect((await ctx.app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie } })).status).toBe(401);
      }
      await context.close();
    }
  });

  it("should draw a card's balances, follow a load until it settles, and read the balance at the cursor from the API", async () => {
    const { context, page } = await signedIn(browser, ctx.app.url, keys.auditor, `/console/cards/${CARD}`);
    const chart = page.getByTestId('balance-chart');
    await waitForAttr(page, 'balance-chart', 'data-last-posted', '40.00');
    // EnKash answers slowly now: the new load is pending on the chart first, then posted, without a reload.
    ctx.sim.state.setConfig({ latencyMs: 3000 });
    const load = await createLoad(ctx.app, CARD, '25.00');
    await waitForAttr(page, 'balance-chart', 'data-last-pending', '25.00');
    expect(await attr(chart, 'data-last-posted')).toBe('40.00');
    await waitForAttr(page, 'balance-chart', 'data-last-posted', '65.00');
    expect(await attr(chart, 'data-last-pending')).toBe('0.00');
    expect((await ctx.app.api('GET', `/v1/card-loads/${load.id}`)).body.status).toBe('posted');
    await page.getByTestId('history-table').locator('tr[data-seq="4"]').waitFor();

    // A click on the chart puts the cursor there; what it shows is the API's answer for that moment, asOf included.
    const over = page.locator('.u-over');
    const box = (await over.boundingBox())!;
    const readCursor = async () => {
      const answer = page.getByTestId('asof-answer').locator('[data-asof]');
      await answer.waitFor();
      const asOf = new URL(page.url()).searchParams.get('asOf')!;
      await page.waitForFunction(
        (a) => document.querySelector('[data-testid="asof-answer"] [data-asof]')?.getAttribute('data-asof') === a,
        asOf,
      );
      const shown = {
        asOf: await attr(answer, 'data-asof'),
        posted: await attr(answer, 'data-posted'),
        pending: await attr(answer, 'data-pending'),
      };
      const api = (await ctx.app.api('GET', `/v1/cards/${CARD}/balance?asOf=${asOf}`, { key: keys.auditor })).body;
      expect(shown).toEqual({ asOf: api.asOf, posted: api.posted, pending: api.pending });
      return shown;
    };
    await over.click({ position: { x: box.width * 0.5, y: box.height / 2 } });
    const clicked = await readCursor();
    await shot(page, 'card');
    // Drag the cursor line to the left edge: the card's first moment. Its account opened in the same transaction as
    // its first load (one moment per ledger transaction, docs/time.md), so that load is already there, pending.
    const cursorX = box.x + box.width * 0.5;
    await page.mouse.move(cursorX, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + 1, box.y + 20, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction((before) => new URL(location.href).searchParams.get('asOf') !== before, clicked.asOf);
    expect(await readCursor()).toMatchObject({ posted: '0.00', pending: '40.00' });
    // From the keyboard: the slider moves the same cursor; End is the window's end, the balance now.
    await page.getByLabel('As of').focus();
    await page.keyboard.press('End');
    expect(await readCursor()).toMatchObject({ posted: '65.00', pending: '0.00' });

    // The CSV link holds exactly the rows on screen, in their order.
    await page.getByLabel('Order').selectOption('asc');
    await page.getByLabel('Rows per page').selectOption('20');
    await page.getByTestId('history-table').locator('tbody tr').first().waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="history-table"] tbody tr')?.getAttribute('data-seq') === '1');
    const shownSeqs = await page
      .getByTestId('history-table')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
    const csv = await context.request.get(`${ctx.app.url}${await page.getByTestId('history-csv').getAttribute('href')}`);
    expect(csv.status()).toBe(200);
    const [header, ...lines] = parseCsv(await csv.text());
    expect(lines.map((l) => Number(l[header.indexOf('seq')]))).toEqual(shownSeqs);
    expect(await accessibilityProblems(page)).toEqual([]);
    await context.close();
  });

  it("should show a load's fields, timeline, journal transactions and webhook deliveries", async () => {
    const load = await createLoad(ctx.app, 'EKCBROWSE2', '12.50');
    await waitForStatus(ctx.app, load.id, ['posted']);
    await waitFor('its webhook to be delivered', async () =>
      (await ctx.app.api('GET', `/v1/webhooks/deliveries?loadId=${load.id}`)).body.data.some(
        (d: { status: string }) => d.status === 'delivered',
      ),
    );
    const { context, page } = await signedIn(browser, ctx.app.url, ADMIN_KEY, `/console/loads/${load.id}`);
    expect(await page.getByTestId('load-status').textContent()).toBe('posted');
    const timeline = await page.getByTestId('timeline').locator('li').allTextContents();
    expect(timeline.join('\n')).toMatch(/enkash_send · outcome succeeded · HTTP 200 · code 0 · \d+ ms/);
    expect(timeline.some((t) => /posted/.test(t))).toBe(true);
    await page.getByTestId('journal-table').locator('tbody tr').nth(1).waitFor();
    expect(await page.getByTestId('journal-table').locator('tbody tr td:nth-child(2)').allTextContents()).toEqual([
      'pending',
      'post_pending',
    ]);
    await page.getByTestId('deliveries').getByText('card_load.posted').waitFor();
    expect(await page.getByTestId('deliveries').textContent()).toMatch(/delivered.*succeeded · HTTP 204/);
    expect(await accessibilityProblems(page)).toEqual([]);
    await shot(page, 'load');
    await context.close();
  });

  it("should resolve a load in review through a dialog that restates it, showing the API's refusals as they are", async () => {
    const { inReview, context, page, row } = await reviewPageWith(keys.operator, 'EKCBROWSE3', '77.70');
    expect(await row.textContent()).toContain('77.70 INR');
    await shot(page, 'review');

    // From the keyboard: the button opens the dialog, focus goes into it, Escape closes it and gives focus back.
    const resolve = row.getByRole('button', { name: /^Resolve…/ });
    await resolve.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Resolve a load in review' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await resolve.evaluate((el) => el === document.activeElement)).toBe(true);

    await resolve.click();
    expect(await dialog.getByTestId('confirm-amount').textContent()).toBe('77.70 INR');
    expect(await dialog.getByTestId('confirm-card').textContent()).toBe('EKCBROWSE3');
    // A reversal while a send may still land at EnKash: the API refuses, and the dialog says exactly what it said.
    await dialog.getByLabel(/reversed/).check();
    await dialog.getByLabel(/Reason/).fill('EnKash support says it failed (ticket 9)');
    await dialog.getByRole('button', { name: 'Resolve as reversed' }).click();
    const refusal = dialog.getByRole('alert').locator('.error');
    await refusal.waitFor();
    await shot(page, 'review-dialog');
    expect(await refusal.textContent()).toMatch(/^409 load_in_flight: .+ \(Retry-After: \d+ s\)$/);
    expect((await ctx.app.api('GET', `/v1/card-loads/${inReview.id}`)).body.status).toBe('needs_review');

    await dialog.getByLabel(/posted/).check();
    await dialog.getByLabel(/Reason/).fill('EnKash support confirmed the credit (ticket 10)');
    await dialog.getByRole('button', { name: 'Resolve as posted' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.getByTestId('review-note').textContent()).toContain('resolved as posted');
    const settled = (await ctx.app.api('GET', `/v1/card-loads/${inReview.id}`)).body;
    expect(settled.status).toBe('posted');
    expect(
      settled.events.some(
        (e: { actor: string | null; message: string | null }) =>
          e.actor === 'wh-ops:write+ledger:read' && /ticket 10/.test(e.message ?? ''),
      ),
    ).toBe(true);

    // The decided load stays in view: undo it, again through a confirmation.
    const decided = page.getByTestId('decided-table').locator(`tr[data-load="${inReview.id}"]`);
    await decided.getByRole('button', { name: /^Undo…/ }).click();
    const undo = page.getByRole('dialog', { name: 'Undo a posted load' });
    expect(await undo.getByTestId('confirm-amount').textContent()).toBe('77.70 INR');
    await undo.getByLabel(/Reason/).fill('EnKash reversed it after all (ticket 11)');
    await undo.getByRole('button', { name: 'Undo the load' }).click();
    await undo.waitFor({ state: 'detached' });
    expect((await ctx.app.api('GET', `/v1/card-loads/${inReview.id}`)).body.undoneAt).not.toBeNull();

    // Requeue: another lookup at EnKash, which shows the reference absent, so it is sent again and posts.
    const another = await loadInReview('EKCBROWSE3', '5.00');
    await page.reload();
    const row2 = page.locator(`tr[data-load="${another.id}"]`);
    await row2.getByRole('button', { name: /^Requeue…/ }).click();
    const requeue = page.getByRole('dialog', { name: 'Ask EnKash again' });
    expect(await requeue.getByTestId('confirm-amount').textContent()).toBe('5.00 INR');
    await requeue.getByRole('button', { name: 'Requeue' }).click();
    await requeue.waitFor({ state: 'detached' });
    expect(await page.getByTestId('review-note').textContent()).toContain('requeued: the worker asks EnKash again');
    const requeued = (await ctx.app.api('GET', `/v1/card-loads/${another.id}`)).body;
    expect(requeued.events.at(-1)).toMatchObject({ type: 'requeued', actor: 'wh-ops:write+ledger:read' });
    await context.close();
  });

  it('should show a key without ops:write no buttons that change anything', async () => {
    const { inReview, context, page } = await reviewPageWith(keys.auditor, 'EKCBROWSE4', '8.00');
    expect(await page.getByTestId('review-table').getByRole('button').count()).toBe(0);
    await page.goto(`/console/loads/${inReview.id}`);
    await page.getByTestId('load-status').waitFor();
    expect(await page.getByRole('button', { name: /Resolve|Requeue|Undo/ }).count()).toBe(0);
    await page.goto('/console/reconciliation');
    await page.getByTestId('loads-by-status').waitFor();
    expect(await page.getByRole('button', { name: /Run a reconciliation/ }).count()).toBe(0);
    await context.close();
  });

  it("should refuse a write forged without the session's CSRF token, from the page or from another origin", async () => {
    const inReview = await loadInReview('EKCBROWSE5', '9.00');
    const { context, page } = await signedIn(browser, ctx.app.url, keys.operator, '/console/review');
    const forged = await page.evaluate(async (id) => {
      const res = await fetch(`/v1/card-loads/${id}/resolve`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ outcome: 'posted', reason: 'forged' }),
      });
      return { status: res.status, body: await res.json() };
    }, inReview.id);
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'forbidden', message: expect.stringMatching(/CSRF/) } } });

    // Another origin on this host (same site: SameSite alone would send the cookie) posting a form at the API.
    const runsBefore = (await ctx.app.api('GET', '/v1/reports/reconciliation/runs?limit=500')).body.data.length;
    const evil = await context.newPage();
    await evil.goto(`${ctx.rx.url}/evil`).catch(() => undefined);
    await evil.setContent(`<form method="POST" action="${ctx.app.url}/v1/reports/reconciliation/runs"><input name="x" value="1"></form>`);
    const [answer] = await Promise.all([evil.waitForNavigation(), evil.evaluate(() => document.forms[0].submit())]);
    expect(answer?.status()).toBeGreaterThanOrEqual(400);
    expect((await ctx.app.api('GET', '/v1/reports/reconciliation/runs?limit=500')).body.data.length).toBe(runsBefore);
    expect((await ctx.app.api('GET', `/v1/card-loads/${inReview.id}`)).body.status).toBe('needs_review');
    await context.close();
  });

  it('should start a reconciliation run, watch it finish, and show runs, findings, ageing, the trial balance and the chain', async () => {
    // An operator posted a load EnKash never applied: the run must find it.
    const wrong = await loadInReview('EKCBROWSE6', '33.00');
    await ctx.app.api('POST', `/v1/card-loads/${wrong.id}/resolve`, { body: { outcome: 'posted', reason: 'a mistaken operator' } });
    const { context, page } = await signedIn(browser, ctx.app.url, keys.operator, '/console/reconciliation');
    await page.getByTestId('loads-by-status').waitFor();
    await page.getByTestId('verifier').getByText('intact').waitFor();
    ctx.sim.state.setConfig({ latencyMs: 300 });
    await page.getByRole('button', { name: 'Run a reconciliation now' }).click();
    await page
      .getByTestId('run-status')
      .getByText(/Running for/)
      .waitFor();
    await page
      .getByTestId('run-status')
      .getByText(/completed: \d+ loads and \d+ cards checked/)
      .waitFor({ timeout: 30_000 });
    const runs = (await ctx.app.api('GET', '/v1/reports/reconciliation/runs')).body.data;
    await page.getByTestId('runs').locator('tbody tr').first().getByText('manual').waitFor();
    expect(await page.getByTestId('runs').locator('tbody tr').count()).toBe(runs.length);
    // Loads an operator posted that EnKash never applied are findings, with their evidence.
    await page.getByTestId('findings').locator('tbody tr details').first().waitFor();
    expect(await page.getByTestId('ageing').locator('th[scope=row]').allTextContents()).toEqual(['pending', 'needs_review']);
    expect(await page.getByTestId('tb-verdict').textContent()).toContain('balanced');
    expect(await accessibilityProblems(page)).toEqual([]);
    await shot(page, 'reconciliation');
    await context.close();
  });

  it('should list webhook subscriptions and their deliveries, and redeliver one', async () => {
    const { context, page } = await signedIn(browser, ctx.app.url, ADMIN_KEY, '/console/webhooks');
    await page
      .getByTestId('subscriptions')
      .getByRole('link', { name: /deliveries to/ })
      .first()
      .click();
    const deliveries = page.getByTestId('deliveries');
    await deliveries
      .locator('tbody tr')
      .first()
      .getByText(/HTTP 204/)
      .waitFor();
    const heard = ctx.rx.accepted('/admin').length;
    await deliveries
      .getByRole('button', { name: /^Redeliver/ })
      .first()
      .click();
    await page.getByText(/queued again: pending/).waitFor();
    await waitFor('the receiver to hear the event again', async () => ctx.rx.accepted('/admin').length > heard);
    expect(await accessibilityProblems(page)).toEqual([]);
    await shot(page, 'webhooks');
    await context.close();
  });

  it('should be usable from the keyboard alone: a skip link, the pages, and labelled controls', async () => {
    const { context, page } = await signedIn(browser, ctx.app.url, keys.operator, '/console');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Every control on every page has a name a screen reader can say.
    for (const url of ['/console', `/console/cards/${CARD}`, '/console/review', '/console/reconciliation']) {
      await page.goto(url);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea, button')]
          .filter((el: any) => !el.labels?.length && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim())
          .map((el: any) => el.outerHTML.slice(0, 80)),
      );
      expect({ url, unnamed }).toEqual({ url, unnamed: [] });
      expect({ url, problems: await accessibilityProblems(page) }).toEqual({ url, problems: [] });
    }
    // The card search works from the keyboard: type, Enter, and the card page opens.
    await page.goto('/console');
    await page.getByLabel('EnKash card id').fill(CARD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/console/cards/${CARD}`);
    await shot(page, 'home');
    await context.close();
  });
});
