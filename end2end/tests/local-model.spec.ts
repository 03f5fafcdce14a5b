import { homedir } from 'os';
import { join } from 'path';
import { startArbor } from '../server';
import { assistantMessages, composer, expect, open, test, waitForReply } from './fixtures';

/** The GGUF scripts/fetch-model.sh fetched (where the server looks for it). */
function modelFile(): string {
  const cache =
    process.env.ARBOR_CACHE_DIR ||
    (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'arbor') : join(homedir(), '.cache', 'arbor'));
  return join(cache, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
}

test('a real model on this machine answers, labelled as such, and a small context leaves old messages out', async ({ page }) => {
  const arbor = await startArbor({ env: { ARBOR_LOCAL_MODEL: modelFile(), ARBOR_LOCAL_CONTEXT: '256', ARBOR_LOCAL_THREADS: '1' } });
  try {
    await open(page, `${arbor.url}/`);
    await composer(page).fill('What is the capital of France?');
    await composer(page).press('Enter');
    await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
    await expect(page.locator('.model-badge')).toHaveText('Runs on this machine');
    await expect(page.locator('.model-badge')).toHaveAttribute('title', /on its own CPU/);
    const reply = await waitForReply(page);
    await expect(reply.locator('.content')).not.toBeEmpty();
    await expect(reply).toContainText('SmolLM2-135M-Instruct');
    await expect(reply).toContainText(/tokens\/s/);

    // Two more long turns overflow a 256-token context: the last reply's
    // context view says how many older messages were not sent.
    const long = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(4);
    for (const round of [1, 2]) {
      await composer(page).fill(`Round ${round}. ${long}`);
      await composer(page).press('Enter');
      await expect(assistantMessages(page)).toHaveCount(round + 1);
      await waitForReply(page);
    }
    await assistantMessages(page).last().getByRole('button', { name: 'Context' }).click();
    const dialog = page.getByRole('dialog', { name: 'What the model was sent' });
    await expect(dialog.locator('.context-left-out')).toContainText(/older messages? of this branch (was|were) not sent/);
  } finally {
    await arbor.stop();
  }
});
