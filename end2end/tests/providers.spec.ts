import { assistantMessages, composer, expect, open, saved, send, serveWithFakeProvider, test, waitForReply } from './fixtures';
import { Page } from '@playwright/test';

// Each test runs its own Arbor, configured with a fake OpenAI-compatible
// provider `local` (see fake-openai.ts).
const served = serveWithFakeProvider();

/** Starts a conversation on the home page with `model` picked. */
async function startWith(page: Page, model: string, text: string): Promise<void> {
  await open(page, `${served.arbor.url}/`);
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker.locator(`option[value="${model}"]`)).toBeAttached();
  await picker.selectOption(model);
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}

test('a model picked from the fake server streams its reply, and its parameters show', async ({ page }) => {
  await startWith(page, 'offline/arbor-offline', 'first on the offline model');
  await waitForReply(page);
  const first = assistantMessages(page).first();
  await expect(first.locator('.author')).toHaveText('offline/arbor-offline');

  // Models come from the config and from the server's GET /v1/models.
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker.locator('option[value="local/fake-slow"]')).toBeAttached();
  await picker.selectOption('local/fake-echo');
  await expect(page.locator('.model-badge')).toHaveText('Model');

  await send(page, 'hello from the browser');
  const reply = assistantMessages(page).last();
  const lengths = new Set<number>();
  await expect
    .poll(
      async () => {
        lengths.add(((await reply.locator('.content').textContent()) ?? '').length);
        return lengths.size >= 3 ? 'seen growing' : 'waiting';
      },
      { intervals: [30] },
    )
    .toBe('seen growing');
  await waitForReply(page);
  await expect(reply.locator('.content')).toHaveText('You said: hello from the browser');
  await expect(reply.locator('.author')).toHaveText('local/fake-echo');
  await expect(reply.locator('.params')).toHaveText('temperature 0.5');
  await expect(reply.locator('.usage')).toContainText('7 → 6 tokens');
  // The earlier reply keeps the model that wrote it.
  await expect(first.locator('.author')).toHaveText('offline/arbor-offline');

  // The choice is the conversation's: it survives a reload.
  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue('local/fake-echo');
});

test('an upstream error is shown with Retry, which regenerates the reply', async ({ page }) => {
  await startWith(page, 'local/fake-429', 'this will be rate limited');
  const reply = assistantMessages(page).first();
  await expect(reply).toHaveClass(/\berror\b/);
  await expect(reply.locator('.note')).toContainText('rate limiting requests (429)');

  const settingsSaved = saved(page, 'set_generation_settings');
  await page.getByRole('combobox', { name: 'Model' }).selectOption('local/fake-echo');
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue('local/fake-echo');
  await settingsSaved;
  await reply.getByRole('button', { name: 'Retry' }).click();
  const retried = assistantMessages(page).first();
  await expect(retried.locator('.sibling-pos')).toHaveText('2/2');
  await expect(retried).toHaveClass(/\bcomplete\b/);
  await expect(retried.locator('.content')).toHaveText('You said: this will be rate limited');
});

test('the model names the conversation and the sidebar shows it live', async ({ page }) => {
  await startWith(page, 'local/fake-echo', 'please name this conversation');
  await waitForReply(page);
  await expect(page.locator('li.conversation.current .conversation-link')).toHaveText('Fake Model Title');
  await expect(page.locator('.chat-title')).toHaveText('Fake Model Title');
});

test('a stopped reply can be continued in a new branch that starts with its text', async ({ page }) => {
  await startWith(page, 'local/fake-slow', 'count slowly');
  const reply = assistantMessages(page).first();
  await expect(reply.locator('.content')).toContainText('w3');
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(reply).toHaveClass(/\binterrupted\b/);
  const kept = ((await reply.locator('.content').textContent()) ?? '').trim();
  expect(kept.length).toBeGreaterThan(0);

  await reply.getByRole('button', { name: 'Continue' }).click();
  const continued = assistantMessages(page).first();
  await expect(continued.locator('.sibling-pos')).toHaveText('2/2');
  await expect(continued).toHaveClass(/\bstreaming\b/);
  // It starts with the kept text and goes on: the fake streams w1, w2...
  // again after it, so the first word after the kept text is w1.
  await expect(continued.locator('.content')).toContainText(`${kept} w1 w2`);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(continued).toHaveClass(/\binterrupted\b/);
  await continued.getByRole('button', { name: 'Previous version' }).click();
  await expect(assistantMessages(page).first().locator('.content')).toHaveText(kept);
});

test('a tool-calling reply shows its call and result as badges that expand', async ({ page }) => {
  await startWith(page, 'local/fake-tools', 'what time is it?');
  const call = page.locator('.tool-badge.call');
  await expect(call.locator('summary')).toHaveText('Called current_time');
  const result = page.locator('article.message.tool .tool-badge.result');
  await expect(result.locator('summary')).toHaveText('current_time result');
  await expect(result.locator('pre')).toBeHidden();
  await result.locator('summary').click();
  await expect(result.locator('pre')).toContainText('unix_ms');
  const answer = assistantMessages(page).last();
  await expect(answer).toHaveClass(/\bcomplete\b/);
  await expect(answer.locator('.content')).toContainText('Tool answered:');
  await expect(answer.locator('.content')).toContainText('unix_ms');

  // Tools can be switched off for the conversation.
  const tools = page.getByRole('checkbox', { name: 'Tools' });
  await expect(tools).toBeChecked();
  const settingsSaved = saved(page, 'set_generation_settings');
  await tools.uncheck();
  await settingsSaved;
  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(page.getByRole('checkbox', { name: 'Tools' })).not.toBeChecked();
});

test('a reply in GitHub-flavoured markdown renders tables, tasks, links, footnotes, math, and copyable code', async ({
  page,
}) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: served.arbor.url });
  const markdown = [
    'Formatting check',
    '',
    '| tree | leaves |',
    '|---|---|',
    '| oak | lobed |',
    '',
    '- [x] planted',
    '- [ ] watered',
    '',
    '~~felled~~ see https://example.com/trees for $x^2$ growth.[^1]',
    '',
    '[^1]: Measured yearly.',
    '',
    '```rust',
    'let rings = 42; // "<b>"',
    '```',
  ].join('\n');
  await startWith(page, 'local/fake-echo', markdown);
  const reply = await waitForReply(page);
  const content = reply.locator('.content');
  await expect(content.locator('table td').first()).toHaveText('oak');
  await expect(content.locator('input[type="checkbox"]')).toHaveCount(2);
  await expect(content.locator('input[type="checkbox"]').first()).toBeChecked();
  await expect(content.locator('del')).toHaveText('felled');
  await expect(content.locator('a[href="https://example.com/trees"]')).toHaveText('https://example.com/trees');
  await expect(content.locator('.math-inline')).toHaveText('x^2');
  await expect(content.locator('sup.footnote-reference')).toHaveCount(1);
  await expect(content.locator('.footnote-definition')).toContainText('Measured yearly.');

  // The Rust block is highlighted: keywords, numbers and comments have their classes and colours.
  const code = content.locator('pre code.language-rust');
  await expect(code.locator('.hl-keyword', { hasText: 'let' })).toHaveCount(1);
  await expect(code.locator('.hl-constant')).toHaveText('42');
  await expect(code.locator('.hl-comment').first()).toContainText('"<b>"');
  const colours = await code.evaluate((element) => {
    const keyword = element.querySelector('.hl-keyword')!;
    return [getComputedStyle(keyword).color, getComputedStyle(element).color];
  });
  expect(colours[0]).not.toBe(colours[1]);

  const copy = content.getByRole('button', { name: 'Copy code' });
  await copy.click();
  await expect(copy).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('let rings = 42; // "<b>"\n');

  // Loaded again, the page comes with the server's colours (the browser
  // has no highlighter), and hydrating keeps them.
  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  const again = page.locator('.messages article.message.assistant').last().locator('pre code.language-rust');
  await expect(again.locator('.hl-constant')).toHaveText('42');
  await expect(again.locator('.hl-keyword', { hasText: 'let' })).toHaveCount(1);
});

/** Writes a three-exchange branch on the offline model. */
async function threeOfflineTurns(page: Page): Promise<void> {
  await startWith(page, 'offline/arbor-offline', 'one');
  await waitForReply(page);
  for (const text of ['two', 'three']) {
    await send(page, text);
    await expect(assistantMessages(page)).toHaveCount(['two', 'three'].indexOf(text) + 2);
    await waitForReply(page);
  }
}

/** Opens the replay dialog of the shown branch and starts it on `model`. */
async function replayWith(page: Page, model: string): Promise<void> {
  await page.getByRole('button', { name: 'Replay…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Replay this branch' });
  await expect(dialog).toContainText('Asks your 3 messages on this branch again');
  const picker = dialog.getByRole('combobox', { name: 'Model' });
  await expect(picker.locator(`option[value="${model}"]`)).toBeAttached();
  await picker.selectOption(model);
  await dialog.getByRole('button', { name: 'Start replay' }).click();
  await expect(dialog).toHaveCount(0);
}

test('replaying a branch with another model writes a sibling branch turn by turn', async ({ page }) => {
  await threeOfflineTurns(page);
  const oldFirstReply = (await assistantMessages(page).first().locator('.content').textContent()) ?? '';

  await replayWith(page, 'local/fake-echo');
  const status = page.locator('.replay-status');
  await expect(status).toContainText('Replaying with local/fake-echo: reply 1 of 3');
  await expect(status.getByRole('button', { name: 'Stop replay' })).toBeVisible();
  await expect(status).toContainText('Replay with local/fake-echo finished: 3 replies');

  // The new branch is shown: the same questions, the new model's answers.
  const replies = assistantMessages(page);
  await expect(replies).toHaveCount(3);
  for (const [index, text] of ['one', 'two', 'three'].entries()) {
    await expect(replies.nth(index).locator('.content')).toHaveText(`You said: ${text}`);
    await expect(replies.nth(index).locator('.author')).toHaveText('local/fake-echo');
  }
  await expect(page.locator('.messages article.message.user .content')).toHaveText(['one', 'two', 'three']);
  // It sits beside the old branch, which is one click away.
  const first = replies.first();
  await expect(first.locator('.sibling-pos')).toHaveText('2/2');
  await first.getByRole('button', { name: 'Previous version' }).click();
  await expect(assistantMessages(page).first().locator('.content')).toHaveText(oldFirstReply);
  await expect(assistantMessages(page).first().locator('.author')).toHaveText('offline/arbor-offline');
  // The conversation's own model did not change.
  await expect(page.locator('.generation-settings').getByRole('combobox', { name: 'Model' })).toHaveValue(
    'offline/arbor-offline',
  );
  // The outcome leads back to the replayed branch, then goes away.
  await status.getByRole('button', { name: 'Show its branch' }).click();
  await expect(assistantMessages(page).first().locator('.content')).toHaveText('You said: one');
  await status.getByRole('button', { name: 'Dismiss' }).click();
  await expect(status).toHaveCount(0);
});

test('a replay can be stopped: its reply so far stays and nothing more is asked', async ({ page }) => {
  await threeOfflineTurns(page);
  await replayWith(page, 'local/fake-slow');
  const status = page.locator('.replay-status');
  await expect(status).toContainText('Replaying with local/fake-slow: reply 1 of 3');
  const reply = assistantMessages(page).first();
  await expect(reply.locator('.content')).toContainText('3');

  // A reload finds the replay still running.
  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(status).toContainText('reply 1 of 3');
  await status.getByRole('button', { name: 'Stop replay' }).click();
  await expect(status).toContainText('Replay with local/fake-slow stopped after 0 of 3 replies');
  await expect(reply).toHaveClass(/\binterrupted\b/);
  await expect(reply).toContainText('Stopped by user.');
  await expect(page.locator('.messages article.message')).toHaveCount(2);
});
