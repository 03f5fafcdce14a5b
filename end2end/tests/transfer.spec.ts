import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { assistantMessages, expect, messages, open, saved, startConversation, test, waitForReply } from './fixtures';

const FIXTURES = resolve(__dirname, '../../server/tests/fixtures/import');

/** Downloads through the Export menu's item `name`; answers the file's path and name. */
async function exportAs(page: Page, name: string): Promise<{ path: string; fileName: string }> {
  await page.locator('.export-menu > summary').click();
  const download = page.waitForEvent('download');
  await page.getByRole('menuitem', { name }).click();
  const file = await download;
  const path = await file.path();
  return { path, fileName: file.suggestedFilename() };
}

async function importFile(page: Page, file: string | { name: string; mimeType: string; buffer: Buffer }) {
  await page.getByRole('button', { name: 'Import…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Import conversations' });
  await dialog.getByLabel('File to import').setInputFiles(file);
  return dialog;
}

async function texts(page: Page): Promise<string[]> {
  return messages(page).locator('.content').allTextContents();
}

test('export a conversation, import it back, and see the same branches', async ({ page }) => {
  await startConversation(page, 'Plan a small garden');
  await waitForReply(page);
  await assistantMessages(page).first().getByRole('button', { name: 'Regenerate' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('2/2');
  await waitForReply(page);
  const bar = page.getByRole('toolbar', { name: 'This branch' });
  await bar.getByRole('button', { name: 'Name branch' }).click();
  await bar.getByRole('textbox', { name: 'Branch name' }).fill('second take');
  await bar.getByRole('textbox', { name: 'Branch name' }).press('Enter');
  await expect(bar.locator('.branch-name')).toHaveText('second take');
  await bar.getByRole('button', { name: 'Mark as main' }).click();
  await expect(bar.locator('.main-badge')).toBeVisible();
  const secondTake = await texts(page);
  // The archive takes the shown branch from the server: wait for each save.
  let leafSaved = saved(page, 'set_active_leaf');
  await page.getByRole('button', { name: 'Previous version' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('1/2');
  await leafSaved;
  const firstTake = await texts(page);
  leafSaved = saved(page, 'set_active_leaf');
  await page.getByRole('button', { name: 'Next version' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('2/2');
  await leafSaved;
  const originalUrl = page.url();

  const markdown = await exportAs(page, 'This branch as Markdown');
  expect(markdown.fileName).toMatch(/\.md$/);
  const text = readFileSync(markdown.path, 'utf8');
  expect(text).toContain('## User\n\nPlan a small garden\n');
  expect(text).toContain('## Assistant · offline/arbor-offline\n');
  expect(text.split('## Assistant').length - 1).toBe(1);

  const archive = await exportAs(page, 'Whole tree (Arbor archive)');
  expect(archive.fileName).toMatch(/\.arbor\.json\.gz$/);
  const dialog = await importFile(page, archive.path);
  await expect(dialog.locator('.import-headline')).toHaveText('1 conversation, 3 messages, 2 branches imported');
  await expect(dialog).toContainText('read as: Arbor archive');
  await expect(dialog).toContainText('already here: imported as a copy');
  await dialog.locator('.imported-conversations a').click();
  await expect(dialog).toHaveCount(0);
  await expect.poll(() => page.url()).not.toBe(originalUrl);
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);

  // The copy has the same tree: both versions, the name, the main mark,
  // and the branch that was shown.
  await expect(page.locator('.sibling-pos')).toHaveText('2/2');
  await expect(bar.locator('.branch-name')).toHaveText('second take');
  await expect(bar.locator('.main-badge')).toBeVisible();
  expect(await texts(page)).toEqual(secondTake);
  await page.getByRole('button', { name: 'Previous version' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('1/2');
  expect(await texts(page)).toEqual(firstTake);
});

test("ChatGPT's export imports with every branch, and a bad file gets a clear error", async ({ page }) => {
  await open(page, '/');
  const dialog = await importFile(page, resolve(FIXTURES, 'chatgpt_export.zip'));
  await expect(dialog.locator('.import-headline')).toHaveText('2 conversations, 19 messages, 4 branches imported');
  await expect(dialog).toContainText('chatgpt_export.zip read as: ChatGPT export');
  await dialog.getByRole('link', { name: 'Trip to Lisbon' }).click();
  await expect(page.locator('.chat-title')).toHaveText('Trip to Lisbon');
  // The shown branch is ChatGPT's current node: the regenerated reply.
  await expect(assistantMessages(page).last()).toContainText('Lisbon with kids is a great idea!');
  await expect(page.locator('.sibling-pos').last()).toHaveText('2/2');

  const failed = await importFile(page, { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('just notes') });
  await expect(failed.getByRole('alert')).toContainText('notes.txt: it is not JSON');
});

test('a large import shows its progress, then what it imported', async ({ page }) => {
  await open(page, '/');
  const conversation = [];
  for (let i = 0; i < 30000; i++) {
    conversation.push({ role: i % 2 === 0 ? 'user' : 'assistant', content: `line ${i} ${'words '.repeat(40)}` });
  }
  const buffer = Buffer.from(JSON.stringify(conversation));
  expect(buffer.length).toBeGreaterThan(5_000_000);
  const dialog = await importFile(page, { name: 'long.json', mimeType: 'application/json', buffer });
  await expect(dialog.locator('.import-progress progress')).toBeVisible();
  await expect(dialog.locator('.import-headline')).toHaveText('1 conversation, 30000 messages, 1 branch imported', { timeout: 60_000 });
  await expect(dialog.locator('.import-progress')).toHaveCount(0);
});
