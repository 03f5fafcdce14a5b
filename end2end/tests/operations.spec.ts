import { startArbor } from '../server';
import { expect, open, test } from './fixtures';

test('the dashboard starts test conversations, broadcasts to them and shows live progress', async ({ page }) => {
  // A server of its own, so the figures count only this test's conversations;
  // slow tokens keep the replies streaming long enough to be seen.
  const arbor = await startArbor({ env: { ARBOR_OFFLINE_TOKEN_MS: '50' } });
  try {
    await open(page, `${arbor.url}/admin`);
    await expect(page.getByTestId('admin-connection')).toHaveText('live');
    await expect(page.getByTestId('active-conversations')).toHaveText('0');

    await page.getByTestId('broadcast-count').fill('30');
    await page.getByTestId('broadcast-text').fill('Hello from the dashboard test');
    await page.getByTestId('broadcast-start').click();

    // While the replies stream: generations running, busy conversations listed.
    await expect(page.getByTestId('running-generations')).toHaveText(/^[1-9]\d*$/);
    await expect(page.getByTestId('conversation-status').filter({ hasText: 'busy' }).first()).toBeVisible();
    await expect(page.getByTestId('conversation-tokens-per-second').filter({ hasText: /^[1-9]/ }).first()).toBeVisible();
    await expect(page.getByTestId('broadcast-total')).toHaveText('30');

    // Then every reply completes.
    await expect(page.getByTestId('broadcast-state')).toHaveText('finished', { timeout: 30_000 });
    await expect(page.getByTestId('broadcast-completed')).toHaveText('30');
    await expect(page.getByTestId('broadcast-failed')).toHaveText('0');
    await expect(page.getByTestId('active-conversations')).toHaveText('30');
    await expect(page.getByTestId('running-generations')).toHaveText('0');
    await expect(page.getByTestId('admin-conversation')).toHaveCount(30);
    await expect(page.getByTestId('conversation-status').filter({ hasText: 'busy' })).toHaveCount(0);
    // The sidebar lists the conversations the broadcast made.
    await expect(page.locator('.sidebar a[href^="/c/"]')).toHaveCount(30);

    // A conversation it started holds the message and the reply.
    await page.getByTestId('admin-conversation').first().getByRole('link').click();
    await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
    await expect(page.locator('.messages article.message.user')).toContainText('Hello from the dashboard test');
    await expect(page.locator('.messages article.message.assistant')).toHaveClass(/\bcomplete\b/);

    // An empty message is refused with a readable error.
    await open(page, `${arbor.url}/admin`);
    await page.getByTestId('broadcast-text').fill('   ');
    await page.getByTestId('broadcast-start').click();
    await expect(page.getByTestId('broadcast-error')).toContainText('the message is empty');
  } finally {
    await arbor.stop();
  }
});
