import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arbor, seedConversation, startArbor } from '../server';
import { expect, messages, open, send, signIn, test, waitForReply } from './fixtures';

// One branch of 10,000 messages ("Message #0" … "Message #9999"), on a
// server of its own.
let arbor: Arbor;
let dataDir: string;
let conversation: string;

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'arbor-long-'));
  conversation = seedConversation(dataDir, 10000, 'line');
  arbor = await startArbor({ dataDir });
});

test.afterAll(async () => {
  await arbor?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a 10,000-message branch opens on its newest messages and loads older ones on scrolling up', async ({
  page,
}) => {
  // The page as the server sends it, before any script runs: the newest
  // forty messages, not ten thousand.
  await signIn(page.context(), arbor.url);
  const html = await (await page.request.get(`${arbor.url}/c/${conversation}`)).text();
  expect(html).toContain('Message #9999');
  expect(html).toContain('Message #9960');
  expect(html).not.toContain('Message #9959<');
  // Nor the outline of the whole tree: that follows once the page is live.
  expect(html.length).toBeLessThan(300_000);

  await open(page, `${arbor.url}/c/${conversation}`);
  await expect(page.locator('.tree-panel .node-count')).toHaveText('(10000 messages)');
  await expect(messages(page)).toHaveCount(40);
  await expect(messages(page).last().locator('.content')).toHaveText('Message #9999');
  await expect(messages(page).first().locator('.content')).toHaveText('Message #9960');
  const older = page.getByRole('button', { name: /Show older messages/ });
  await expect(older).toHaveText('Show older messages (9960 more above)');
  // The branch's totals count every message, not only those shown.
  await expect(page.getByTestId('branch-stats')).toContainText('10000 messages');

  // Scrolling to the top shows the next older ones, texts fetched on demand.
  // The list scrolls from its end (column-reverse): its top is the most negative position.
  await page.locator('.messages').evaluate((list) => (list.scrollTop = -list.scrollHeight));
  await expect(messages(page)).toHaveCount(100);
  await expect(messages(page).first().locator('.content')).toHaveText('Message #9900');
  await expect(page.locator('.messages article.loading')).toHaveCount(0);
  await expect(older).toHaveText('Show older messages (9900 more above)');
  // The button itself, without scrolling to it: scrolling up to the top
  // loads older messages by itself, and the button would move away.
  await older.dispatchEvent('click');
  await expect(messages(page)).toHaveCount(160);
  await expect(messages(page).first().locator('.content')).toHaveText('Message #9840');
});

test('a reply streams into a long branch without drawing the shown messages again', async ({ page }) => {
  await open(page, `${arbor.url}/c/${conversation}`);
  await expect(messages(page)).toHaveCount(40);
  // Mark every shown message element; a re-render would replace them.
  await page.locator('.messages').evaluate((list) => {
    list.querySelectorAll('article.message').forEach((el) => ((el as any).arborMark = true));
  });
  await send(page, 'one more question');
  await waitForReply(page);
  await expect(messages(page)).toHaveCount(42);
  const kept = await page.locator('.messages').evaluate(
    (list) => [...list.querySelectorAll('article.message')].filter((el) => (el as any).arborMark).length,
  );
  expect(kept).toBe(40);
});

test('a search result deep in a long branch is shown with its text', async ({ page }) => {
  await open(page, `${arbor.url}/`);
  await page.getByRole('searchbox', { name: 'Search all conversations' }).fill('1234');
  const hit = page.getByRole('region', { name: 'Search results' }).locator('.search-hit', { hasText: 'Message #1234' });
  await hit.first().click();
  const target = messages(page).getByText('Message #1234', { exact: true });
  await expect(target).toBeVisible();
  await expect(target).toBeInViewport();
  // The messages around it are shown, not the thousands after it.
  await expect(messages(page).first().locator('.content')).not.toHaveText('Message #1234');
  const newer = page.getByRole('button', { name: /Show newer messages/ });
  await expect(newer).toBeVisible();
  expect(await messages(page).count()).toBeLessThan(200);
  await newer.click();
  await expect(messages(page).getByText('Message #1300', { exact: true })).toBeAttached();
  await page.getByRole('button', { name: 'Jump to the newest' }).click();
  await expect(newer).toHaveCount(0);
  await expect(messages(page).last()).toBeInViewport();
});
