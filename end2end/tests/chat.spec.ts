import {
  assistantMessages,
  clickTreeCursor,
  composer,
  expect,
  messages,
  open,
  saved,
  pressInTree,
  send,
  startConversation,
  test,
  treeCursor,
  waitForReply,
} from './fixtures';

test('send a message and watch the reply stream in, rendered as markdown', async ({ page }) => {
  await startConversation(page, 'Hello Arbor, tell me about trees');
  const user = messages(page).first();
  await expect(user).toHaveClass(/\buser\b/);
  await expect(user).toContainText('Hello Arbor, tell me about trees');

  // The reply grows token by token while it streams.
  const reply = assistantMessages(page).first();
  const content = reply.locator('.content');
  const lengths = new Set<number>();
  await expect
    .poll(
      async () => {
        if (!(await reply.evaluate((el) => el.classList.contains('streaming')))) {
          return 'finished';
        }
        lengths.add((await content.innerText()).length);
        return lengths.size >= 3 ? 'seen growing' : 'waiting';
      },
      { intervals: [50] },
    )
    .toBe('seen growing');
  await waitForReply(page);
  // Markdown is rendered: a list and a code block, no raw markers.
  await expect(reply.locator('.content li')).toHaveCount(3);
  await expect(reply.locator('.content pre code')).toContainText('fn ');
  await expect(page.locator('.model-badge')).toContainText('Offline model');
  // The conversation is named after its first message, live in the sidebar.
  await expect(page.locator('.chat-title')).toHaveText('Hello Arbor, tell me about trees');
  await expect(page.locator('li.conversation.current .conversation-link')).toHaveText(
    'Hello Arbor, tell me about trees',
  );
  // Usage and timing: the offline model counts its own tokens.
  await expect(reply.locator('.usage')).toContainText(/^\d+ → \d+ tokens · first token [\d.]+ s · [\d.]+ s/);
});

test('Enter sends, Shift+Enter breaks the line, an empty message gets a hint', async ({ page }) => {
  await open(page, '/');
  await composer(page).press('Enter');
  await expect(page.getByRole('status').filter({ hasText: 'Type a message first.' })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);

  await composer(page).pressSequentially('line one');
  await composer(page).press('Shift+Enter');
  await composer(page).pressSequentially('line two');
  await expect(composer(page)).toHaveValue('line one\nline two');
  await composer(page).press('Enter');
  await page.waitForURL(/\/c\//);
  await expect(messages(page).first().locator('.content')).toHaveText('line one\nline two');
});

test('editing an earlier message makes a sibling branch and keeps the original', async ({ page }) => {
  await startConversation(page, 'first question');
  await waitForReply(page);
  await send(page, 'second question');
  await expect(messages(page)).toHaveCount(4);
  await waitForReply(page);

  const first = messages(page).first();
  await first.getByRole('button', { name: 'Edit' }).click();
  await first.getByRole('textbox', { name: 'Edit message' }).fill('first question, edited');
  await first.getByRole('button', { name: 'Save' }).click();

  await expect(messages(page).first().locator('.sibling-pos')).toHaveText('2/2');
  await expect(messages(page).first().locator('.content')).toHaveText('first question, edited');
  await expect(messages(page)).toHaveCount(2);
  await waitForReply(page);

  await messages(page).first().getByRole('button', { name: 'Previous version' }).click();
  await expect(messages(page).first().locator('.sibling-pos')).toHaveText('1/2');
  await expect(messages(page).first().locator('.content')).toHaveText('first question');
  await expect(messages(page)).toHaveCount(4);
  await expect(messages(page).nth(2).locator('.content')).toHaveText('second question');
});

test('regenerating a reply adds a sibling; switching shows each, and a reload keeps the choice', async ({ page }) => {
  await startConversation(page, 'give me an idea');
  const original = await (await waitForReply(page)).locator('.content').innerText();

  await assistantMessages(page).first().getByRole('button', { name: 'Regenerate' }).click();
  const reply = assistantMessages(page).first();
  await expect(reply.locator('.sibling-pos')).toHaveText('2/2');
  await waitForReply(page);
  const regenerated = await reply.locator('.content').innerText();
  expect(regenerated).not.toBe(original);

  const leafSaved = saved(page, 'set_active_leaf');
  await reply.getByRole('button', { name: 'Previous version' }).click();
  await expect(reply.locator('.sibling-pos')).toHaveText('1/2');
  await expect(reply.locator('.content')).toHaveText(original);
  await leafSaved;

  // The server remembers the branch: a reload (or another browser) shows it.
  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(assistantMessages(page).first().locator('.sibling-pos')).toHaveText('1/2');
  await expect(assistantMessages(page).first().locator('.content')).toHaveText(original);
});

test('clicking a node in the tree panel shows its branch', async ({ page }) => {
  await startConversation(page, 'root message');
  await waitForReply(page);
  const originalId = await messages(page).first().getAttribute('data-id');

  await messages(page).first().getByRole('button', { name: 'Edit' }).click();
  await messages(page).first().getByRole('textbox', { name: 'Edit message' }).fill('another root');
  await messages(page).first().getByRole('button', { name: 'Save' }).click();
  await expect(messages(page).first().locator('.content')).toHaveText('another root');
  await waitForReply(page);

  const panel = page.getByRole('complementary', { name: 'Conversation tree' });
  await expect(panel.locator('.node-count')).toHaveText('(4 messages)');
  await expect(treeCursor(page)).toHaveAttribute('aria-label', /^Assistant message/);

  // Up to the edited root, left to the original one, then click it.
  await pressInTree(page, 'ArrowUp');
  await pressInTree(page, 'ArrowLeft');
  await expect(treeCursor(page)).toHaveAttribute('data-node-id', originalId!);
  await expect(treeCursor(page)).toHaveAttribute('aria-selected', 'false');
  await composer(page).focus();
  await clickTreeCursor(page);
  await expect(messages(page).first().locator('.content')).toHaveText('root message');
  await expect(messages(page).first().locator('.sibling-pos')).toHaveText('1/2');
  await expect(treeCursor(page)).toHaveAttribute('data-node-id', originalId!);
  await expect(treeCursor(page)).toHaveAttribute('aria-selected', 'true');
});

test('Stop ends a slow reply and keeps its partial text, also after a reload', async ({ page }) => {
  await startConversation(page, 'write slowly');
  const reply = assistantMessages(page).first();
  await expect(reply).toHaveClass(/\bstreaming\b/);
  await expect(reply.locator('.content')).not.toBeEmpty();
  await page.getByRole('button', { name: 'Stop' }).click();

  await expect(reply).toHaveClass(/\binterrupted\b/);
  await expect(reply.locator('.note')).toHaveText('Stopped by user.');
  await expect(reply.locator('.usage')).toContainText('≈');
  const partial = await reply.locator('.content').innerText();
  expect(partial.length).toBeGreaterThan(0);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(assistantMessages(page).first().locator('.note')).toHaveText('Stopped by user.');
  await expect(assistantMessages(page).first().locator('.content')).toHaveText(partial);
});

test('closing the tab mid-reply does not stop it: reopening shows it streaming or finished', async ({ page, context }) => {
  await startConversation(page, 'keep going without me');
  const url = page.url();
  const reply = assistantMessages(page).first();
  await expect(reply).toHaveClass(/\bstreaming\b/);
  await expect(reply.locator('.content')).not.toBeEmpty();
  const seen = await reply.locator('.content').innerText();
  await page.close();

  const again = await context.newPage();
  await open(again, url);
  const reopened = assistantMessages(again).first();
  await expect(reopened).toHaveClass(/\b(streaming|complete)\b/);
  await expect(reopened).toHaveClass(/\bcomplete\b/);
  const full = await reopened.locator('.content').innerText();
  expect(full.length).toBeGreaterThan(seen.length);
  // Every line that was complete before the tab closed is in the final reply
  // (the last one seen may have been cut mid-word).
  const completeLines = seen.split('\n').filter((line) => line.trim()).slice(0, -1);
  for (const line of completeLines) {
    expect(full).toContain(line);
  }
});

test('conversations can be renamed and deleted from the sidebar, with confirmation', async ({ page }) => {
  await startConversation(page, 'name me');
  await waitForReply(page);
  const id = page.url().split('/c/')[1];
  const item = page.locator(`li.conversation[data-conversation-id="${id}"]`);

  await item.getByRole('button', { name: 'Rename' }).click();
  await item.getByRole('textbox', { name: 'New title' }).fill('Renamed tree');
  await item.getByRole('button', { name: 'Save' }).click();
  await expect(item.locator('.conversation-link')).toHaveText('Renamed tree');
  await expect(page.locator('.chat-title')).toHaveText('Renamed tree');

  await item.getByRole('button', { name: 'Delete' }).click();
  await expect(item.getByRole('alertdialog')).toContainText('Delete this conversation');
  await item.getByRole('button', { name: 'Cancel' }).click();
  await expect(item.locator('.conversation-link')).toHaveText('Renamed tree');

  await item.getByRole('button', { name: 'Delete' }).click();
  await item.getByRole('button', { name: 'Delete', exact: true }).last().click();
  await expect(item).toHaveCount(0);
  await expect(page).toHaveURL(/\/$/);

  await open(page, `/c/${id}`);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('New chat opens the start page and leaves no empty conversation behind', async ({ page }) => {
  await startConversation(page, 'a first conversation');
  await waitForReply(page);
  const before = await page.locator('li.conversation').count();
  await page.getByRole('link', { name: '+ New chat' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(composer(page)).toBeVisible();
  await expect(page.locator('li.conversation')).toHaveCount(before);
});

test('a system prompt can be set for a conversation and is kept after a reload', async ({ page }) => {
  await startConversation(page, 'with a persona');
  await waitForReply(page);
  await page.getByRole('button', { name: 'System prompt', exact: true }).click();
  const editor = page.getByRole('group', { name: 'System prompt editor' });
  await editor.getByRole('textbox', { name: 'System prompt', exact: true }).fill('You are a gardener.');
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('button', { name: 'System prompt · on' })).toBeVisible();
  await expect(editor).toHaveCount(0);

  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await page.getByRole('button', { name: 'System prompt · on' }).click();
  await expect(
    page.getByRole('group', { name: 'System prompt editor' }).getByRole('textbox', { name: 'System prompt', exact: true }),
  ).toHaveValue('You are a gardener.');
});

test('switching conversations in the sidebar shows the other one, live', async ({ page }) => {
  await startConversation(page, 'Alpha conversation');
  await waitForReply(page);
  const alpha = page.url();
  await startConversation(page, 'Beta conversation');
  await waitForReply(page);
  await page.locator('.conversation-link', { hasText: 'Alpha conversation' }).click();
  await expect(page).toHaveURL(alpha);
  await expect(page.locator('.chat-title')).toHaveText('Alpha conversation');
  await expect(messages(page).first()).toContainText('Alpha conversation');
  // The page still works: a new message goes to this conversation.
  await send(page, 'still alive');
  await expect(messages(page)).toHaveCount(4);
  await waitForReply(page);
  await page.locator('.conversation-link', { hasText: 'Beta conversation' }).click();
  await expect(messages(page)).toHaveCount(2);
  await expect(page.locator('.chat-title')).toHaveText('Beta conversation');
});
