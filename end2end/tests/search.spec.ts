import { expect, messages, open, startConversation, test, waitForReply } from './fixtures';

test('search finds a message on a branch that is not shown and jumps to it', async ({ page }) => {
  // A word no other test writes.
  const word = `elephant${Date.now().toString(36)}`;
  await startConversation(page, `Where does the ${word} sleep?`);
  await waitForReply(page);
  const target = await messages(page).first().getAttribute('data-id');

  // Edit the question: the word is now only on the other branch.
  await messages(page).first().getByRole('button', { name: 'Edit' }).click();
  await messages(page).first().getByRole('textbox', { name: 'Edit message' }).fill('What do zebras eat?');
  await messages(page).first().getByRole('button', { name: 'Save' }).click();
  await expect(messages(page).first().locator('.content')).toHaveText('What do zebras eat?');
  await waitForReply(page);

  // Search from another page, by the start of the word.
  await open(page, '/');
  const box = page.getByRole('searchbox', { name: 'Search all conversations' });
  await box.fill(word.slice(0, -2));
  const results = page.getByRole('region', { name: 'Search results' });
  const hit = results.locator(`.search-hit[data-message-id="${target}"]`);
  await expect(hit).toBeVisible();
  await expect(hit.locator('mark')).toHaveText(word);
  await expect(hit).toContainText('user');
  // The list of conversations gives way to the results.
  await expect(page.locator('.conversation-list-area')).toBeHidden();

  await hit.click();
  await expect(page).toHaveURL(new RegExp(`\\?node=${target}#m-${target}$`));
  await expect(messages(page).first()).toHaveAttribute('data-id', target!);
  await expect(messages(page).first()).toHaveClass(/selected/);
  await expect(messages(page).first().locator('.sibling-pos')).toHaveText('1/2');

  // Nothing matches: said so. Escape clears the search and the list returns.
  await box.fill(`${word}nothing`);
  await expect(results.getByText('Nothing matches.')).toBeVisible();
  await box.press('Escape');
  await expect(box).toHaveValue('');
  await expect(results).toBeHidden();
  await expect(page.locator('.conversation-list-area')).toBeVisible();
});
