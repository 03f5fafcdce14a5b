import {
  assistantMessages,
  expect,
  messages,
  open,
  saved,
  send,
  startConversation,
  test,
  waitForReply,
} from './fixtures';

test('name a branch, mark it main, and jump back to it after a reload', async ({ page }) => {
  await startConversation(page, 'Plan a small garden');
  await waitForReply(page);
  await assistantMessages(page).first().getByRole('button', { name: 'Regenerate' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('2/2');
  await waitForReply(page);

  const bar = page.getByRole('toolbar', { name: 'This branch' });
  await expect(bar.locator('.branch-name')).toHaveText('Unnamed branch');
  await bar.getByRole('button', { name: 'Name branch' }).click();
  await bar.getByRole('textbox', { name: 'Branch name' }).fill('second take');
  await bar.getByRole('textbox', { name: 'Branch name' }).press('Enter');
  await expect(bar.locator('.branch-name')).toHaveText('second take');
  await bar.getByRole('button', { name: 'Mark as main' }).click();
  await expect(bar.locator('.main-badge')).toBeVisible();
  const list = page.getByRole('navigation', { name: 'Named branches' });
  await expect(list.getByRole('button')).toHaveText(['★ second take']);

  // The other version is a different, unnamed branch.
  const leafSaved = saved(page, 'set_active_leaf');
  await page.getByRole('button', { name: 'Previous version' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('1/2');
  await expect(bar.locator('.branch-name')).toHaveText('Unnamed branch');
  await expect(bar.locator('.main-badge')).toHaveCount(0);
  await leafSaved;

  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(page.locator('.sibling-pos')).toHaveText('1/2');
  await list.getByRole('button', { name: '★ second take' }).click();
  await expect(page.locator('.sibling-pos')).toHaveText('2/2');
  await expect(bar.locator('.branch-name')).toHaveText('second take');

  // A name another branch has is refused with a clear message.
  await page.getByRole('button', { name: 'Previous version' }).click();
  await bar.getByRole('button', { name: 'Name branch' }).click();
  await bar.getByRole('textbox', { name: 'Branch name' }).fill('second take');
  await bar.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText('already named');
});

test('compare two branches side by side with a word diff', async ({ page }) => {
  await startConversation(page, 'Tell me about oak trees');
  await waitForReply(page);
  const user = messages(page).first();
  await user.getByRole('button', { name: 'Edit' }).click();
  await user.getByRole('textbox', { name: 'Edit message' }).fill('Tell me about pine trees');
  await user.getByRole('button', { name: 'Save' }).click();
  await expect(messages(page).first()).toContainText('pine');
  await waitForReply(page);

  await page.getByRole('button', { name: 'Compare' }).click();
  const dialog = page.getByRole('dialog', { name: 'Compare branches' });
  await expect(dialog).toBeVisible();
  await expect(dialog.locator('.compare-shared')).toHaveText('The branches share no messages.');
  const firstRow = dialog.locator('.compare-rows .compare-row').first();
  await expect(firstRow.locator('del.diff-removed')).toHaveText(['pine']);
  await expect(firstRow.locator('ins.diff-added')).toHaveText(['oak']);
  await expect(firstRow.locator('.compare-cell').first()).toContainText('Tell me about pine trees');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
});

test('the context view shows the exact thread and parameters sent', async ({ page }) => {
  await startConversation(page, 'first question');
  await waitForReply(page);
  await send(page, 'second question');
  await expect(assistantMessages(page)).toHaveCount(2);
  const second = await waitForReply(page);

  await second.getByRole('button', { name: 'Context' }).click();
  const dialog = page.getByRole('dialog', { name: 'What the model was sent' });
  const sent = dialog.locator('.context-thread .context-message');
  await expect(sent).toHaveCount(3);
  await expect(sent.nth(0)).toContainText('first question');
  // The first reply as stored (markdown source), which echoes the question.
  await expect(sent.nth(1)).toHaveClass(/\bassistant\b/);
  await expect(sent.nth(1)).toContainText('**first question**');
  await expect(sent.nth(2)).toContainText('second question');
  await expect(dialog.locator('.context-settings')).toContainText('offline/arbor-offline');
  await expect(dialog).toContainText('No system prompt.');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(dialog).toHaveCount(0);

  // Per-branch totals add up every reply of the branch.
  await expect(page.getByTestId('branch-stats')).toContainText(/^4 messages · \d+ in → \d+ out tokens · [\d.]+ s generating/);
});

test('prune a subtree after confirming, then undo it', async ({ page }) => {
  await startConversation(page, 'keep this question');
  await waitForReply(page);
  await send(page, 'prune from here');
  await expect(assistantMessages(page)).toHaveCount(2);
  await waitForReply(page);
  await expect(page.locator('.tree-panel .node-count')).toHaveText('(4 messages)');

  await messages(page).nth(2).getByRole('button', { name: 'Prune' }).click();
  const dialog = page.getByRole('dialog', { name: 'Prune branch' });
  await expect(dialog).toContainText('this message and the 1 below it');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(messages(page)).toHaveCount(4);

  await messages(page).nth(2).getByRole('button', { name: 'Prune' }).click();
  await dialog.getByRole('button', { name: 'Prune 2 messages' }).click();
  await expect(messages(page)).toHaveCount(2);
  await expect(page.locator('.tree-panel .node-count')).toHaveText('(2 messages)');
  const notice = page.locator('.undo-notice');
  await expect(notice).toContainText('Pruned 2 messages.');

  // Another tab sees the prune live; the undo reaches it too.
  const other = await page.context().newPage();
  await open(other, new URL(page.url()).pathname);
  await expect(messages(other)).toHaveCount(2);

  await notice.getByRole('button', { name: 'Undo' }).click();
  await expect(messages(page)).toHaveCount(4);
  await expect(messages(page).nth(2)).toContainText('prune from here');
  await expect(messages(other)).toHaveCount(4);
  await expect(notice).toHaveCount(0);
});

test('fork a branch into a new conversation that links back', async ({ page }) => {
  await startConversation(page, 'Fork me please');
  await waitForReply(page);
  const source = page.url();
  await page.getByRole('button', { name: 'Fork', exact: true }).click();
  await expect(page).not.toHaveURL(source);
  await expect(page.locator('.chat-title')).toHaveText('Fork me please (fork)');
  await expect(messages(page)).toHaveCount(2);
  await expect(messages(page).first()).toContainText('Fork me please');
  const origin = page.locator('.forked-from a');
  await expect(origin).toHaveText('Fork me please');
  await expect(page.locator('li.conversation.current .conversation-link')).toHaveText('Fork me please (fork)');
  await origin.click();
  await expect(page).toHaveURL(source);
});
