import { composer, expect, messages, open, startConversation, test, waitForReply } from './fixtures';

test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

test('on a phone the sidebar and the tree are drawers and the composer stays reachable', async ({ page }) => {
  await startConversation(page, 'Hello from a phone');
  await waitForReply(page);
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  const tree = page.getByRole('complementary', { name: 'Conversation tree' });
  await expect(sidebar).toBeHidden();
  await expect(tree).toBeHidden();
  await expect(composer(page)).toBeInViewport();
  await expect(messages(page)).toHaveCount(2);

  // The conversation list slides in, and a tap outside closes it.
  const openList = page.getByRole('button', { name: 'Conversations' });
  await expect(openList).toHaveAttribute('aria-expanded', 'false');
  await openList.click();
  await expect(sidebar).toBeVisible();
  await expect(sidebar.locator('.conversation-link', { hasText: 'Hello from a phone' })).toBeVisible();
  await page.locator('.drawer-backdrop').click({ position: { x: 370, y: 400 } });
  await expect(sidebar).toBeHidden();

  // The tree slides in from the other side; Escape closes it.
  await page.getByRole('button', { name: 'Tree' }).click();
  await expect(tree).toBeVisible();
  await expect(tree.locator('.node-count')).toHaveText('(2 messages)');
  await expect(tree.getByRole('tree', { name: 'Messages as a tree' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(tree).toBeHidden();

  // Picking another conversation from the drawer closes it.
  await open(page, '/');
  await page.getByRole('button', { name: 'Conversations' }).click();
  await sidebar.locator('.conversation-link', { hasText: 'Hello from a phone' }).click();
  await expect(page).toHaveURL(/\/c\//);
  await expect(sidebar).toBeHidden();
  await expect(composer(page)).toBeInViewport();
});
