import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Page, Route } from '@playwright/test';
import { ADMIN, Arbor, seedConversation, startArbor } from '../server';
import {
  assistantMessages,
  composer,
  expect,
  messages,
  open,
  send,
  signIn,
  startConversation,
  test,
  waitForReply,
} from './fixtures';

// The moment between the server-rendered page and the app taking it over
// (hydration), and the page with scripts off.

/**
 * Holds back the page's WASM until the returned function is called, so a
 * test can act on the server-rendered page before hydration.
 */
async function holdBackTheApp(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/*.wasm', async (route: Route) => {
    await released;
    await route.continue();
  });
  return release;
}

const hydrated = (page: Page) => page.locator('body[data-hydrated]');

/** Where the caret is in the focused text field. */
const caret = (page: Page) =>
  page.evaluate(() => (document.activeElement as HTMLTextAreaElement | HTMLInputElement).selectionStart);

test('text typed into the chat composer before hydration is kept, caret and all, and sends', async ({ page }) => {
  await startConversation(page, 'a first question');
  await waitForReply(page);
  const url = page.url();

  const release = await holdBackTheApp(page);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await expect(messages(page)).toHaveCount(2);
  await composer(page).click();
  await page.keyboard.type('typed before the app');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await expect(hydrated(page)).toHaveCount(0);
  // Until then, the buttons that need the app say so instead of doing nothing.
  await expect(page.locator('.app-loading')).toBeVisible();
  const regenerate = assistantMessages(page).first().getByRole('button', { name: 'Regenerate' });
  await expect(regenerate).toHaveCSS('pointer-events', 'none');
  expect(await caret(page)).toBe('typed before the app'.length - 2);

  release();
  await expect(hydrated(page)).toBeAttached();
  await expect(page.locator('.app-loading')).toBeHidden();
  await expect(regenerate).toHaveCSS('pointer-events', 'auto');
  await expect(composer(page)).toHaveValue('typed before the app');
  expect(await caret(page)).toBe('typed before the app'.length - 2);

  await composer(page).press('Enter');
  await expect(messages(page)).toHaveCount(4);
  await expect(messages(page).nth(2).locator('.content')).toHaveText('typed before the app');
  await expect(composer(page)).toHaveValue('');
  await waitForReply(page);
});

test('text typed into the start page and the search box before hydration is kept', async ({ page }) => {
  await startConversation(page, 'a findable zebra');
  await waitForReply(page);

  const release = await holdBackTheApp(page);
  await page.goto('/', { waitUntil: 'domcontentloaded' });
  const search = page.getByRole('searchbox', { name: 'Search all conversations' });
  await search.click();
  await page.keyboard.type('zebra');
  await composer(page).click();
  await page.keyboard.type('a new conversation, typed early');
  await expect(hydrated(page)).toHaveCount(0);

  release();
  await expect(hydrated(page)).toBeAttached();
  await expect(composer(page)).toHaveValue('a new conversation, typed early');
  await expect(search).toHaveValue('zebra');
  // The query typed early is searched for once the app runs.
  const results = page.getByRole('region', { name: 'Search results' });
  await expect(results.locator('.search-hit').first()).toContainText('zebra');

  await composer(page).press('Enter');
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(messages(page).first().locator('.content')).toHaveText('a new conversation, typed early');
});

test('Send works before hydration: the composer posts as a plain form', async ({ page }) => {
  await startConversation(page, 'the start');
  await waitForReply(page);
  const url = page.url();

  const release = await holdBackTheApp(page);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await composer(page).fill('sent before the app');
  const posted = page.waitForResponse((r) => r.url().endsWith('/send') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Send' }).click();
  // The post stores the message and shows the conversation again.
  expect((await posted).status()).toBe(303);
  await expect(messages(page).nth(2).locator('.content')).toHaveText('sent before the app');
  release();
  await expect(hydrated(page)).toBeAttached();
  await waitForReply(page);
  await expect(messages(page)).toHaveCount(4);
});

test.describe('a long conversation', () => {
  let arbor: Arbor;
  let dataDir: string;
  let conversation: string;

  test.beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'arbor-first-second-'));
    conversation = seedConversation(dataDir, 60, 'line');
    arbor = await startArbor({ dataDir });
  });

  test.afterAll(async () => {
    await arbor?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the first paint shows the newest message, and hydration does not move it', async ({ page }) => {
    await signIn(page.context(), arbor.url);
    const release = await holdBackTheApp(page);
    await page.goto(`${arbor.url}/c/${conversation}`, { waitUntil: 'domcontentloaded' });
    const newest = messages(page).last();
    await expect(newest.locator('.content')).toHaveText('Message #59');
    await expect(newest).toBeInViewport();
    await expect(messages(page).first()).not.toBeInViewport();
    await expect(hydrated(page)).toHaveCount(0);
    // The reader scrolls up a little before the app arrives: it must not
    // pull the list back down when it takes over.
    await page.locator('.messages').evaluate((list) => (list.scrollTop = -120));
    const before = await newest.boundingBox();
    const scrolledBefore = await page.locator('.messages').evaluate((list) => list.scrollTop);
    expect(scrolledBefore).toBe(-120);

    release();
    await expect(hydrated(page)).toBeAttached();
    // Let the app's first effects and a frame run.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    expect(await page.locator('.messages').evaluate((list) => list.scrollTop)).toBe(scrolledBefore);
    expect(await newest.boundingBox()).toEqual(before);
  });

  test('someone reading further up stays in place while a reply streams below', async ({ page }) => {
    await open(page, `${arbor.url}/c/${conversation}`);
    await send(page, 'keep my place');
    const reply = assistantMessages(page).last();
    await expect(reply).toHaveClass(/\bstreaming\b/);
    const list = page.locator('.messages');
    await list.evaluate((l) => (l.scrollTop = -600));
    const read = messages(page).getByText('Message #50', { exact: true });
    const before = (await read.boundingBox())!.y;
    await waitForReply(page);
    // Let the last growth be drawn and answered.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    expect(Math.abs((await read.boundingBox())!.y - before)).toBeLessThan(2);
  });

  test('with scripts off, a deep link opens at its message, far above the newest', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    await signIn(context, arbor.url);
    const page = await context.newPage();
    // Message #5: older than the forty the page opens with.
    const view = await (
      await page.request.post(`${arbor.url}/api/get_conversation`, { data: { id: conversation } })
    ).json();
    const target: string = view.outline[5].id;
    const plain = await (await page.request.get(`${arbor.url}/c/${conversation}`)).text();
    expect(plain).not.toContain(`id="m-${target}"`);

    await page.goto(`${arbor.url}/c/${conversation}?node=${target}#m-${target}`);
    const linked = page.locator(`#m-${target}`);
    await expect(linked.locator('.content')).toHaveText('Message #5');
    await expect(linked).toBeInViewport();
    await expect(messages(page).last()).not.toBeInViewport();
    await context.close();
  });
});

test('with scripts off: sign in, read a branch with its versions, send, and see the reply on reload', async ({
  page,
  browser,
  baseURL,
}) => {
  // A conversation with two versions of its reply, made with the app.
  await startConversation(page, 'scripts off please');
  await waitForReply(page);
  await assistantMessages(page).first().getByRole('button', { name: 'Regenerate' }).click();
  await expect(assistantMessages(page).first().locator('.sibling-pos')).toHaveText('2/2');
  await waitForReply(page);
  const url = page.url();

  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const reader = await context.newPage();
  await reader.goto('/login');
  await reader.getByLabel('Username').fill(ADMIN.username);
  await reader.getByLabel('Password').fill(ADMIN.password);
  await reader.getByRole('button', { name: 'Sign in' }).click();
  await reader.waitForURL((u) => !u.pathname.startsWith('/login'));

  await reader.goto(url);
  await expect(reader.locator('.no-script')).toBeVisible();
  await expect(messages(reader)).toHaveCount(2);
  await expect(messages(reader).first().locator('.content')).toHaveText('scripts off please');
  await expect(assistantMessages(reader).first().locator('.sibling-pos')).toHaveText('2/2');

  await composer(reader).fill('sent with scripts off');
  const posted = reader.waitForResponse((r) => r.url().endsWith('/send') && r.request().method() === 'POST');
  await reader.getByRole('button', { name: 'Send' }).click();
  expect((await posted).status()).toBe(303);
  await expect(messages(reader).nth(2).locator('.content')).toHaveText('sent with scripts off');
  // The reply streams on the server; without scripts, a reload shows it once done.
  await expect(async () => {
    await reader.reload();
    await expect(assistantMessages(reader).last()).toHaveClass(/\bcomplete\b/, { timeout: 1000 });
  }).toPass();
  await expect(messages(reader)).toHaveCount(4);

  // An empty message is refused with the reason, and nothing is stored.
  await reader.getByRole('button', { name: 'Send' }).click();
  await expect(reader.getByRole('alert')).toContainText('the message is empty');
  await reader.goto(url);
  await expect(messages(reader)).toHaveCount(4);
  await context.close();
});
