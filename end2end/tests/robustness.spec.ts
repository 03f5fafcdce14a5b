import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startArbor } from '../server';
import {
  assistantMessages,
  clickTreeCursor,
  composer,
  expect,
  messages,
  open,
  pressInTree,
  startConversation,
  test,
  treeCursor,
  waitForReply,
} from './fixtures';

test('a model that fails mid-stream shows a readable error, keeps its text, and can be retried', async ({ page }) => {
  const failing = await startArbor({ env: { ARBOR_OFFLINE_FAIL_AFTER: '5' } });
  try {
    await open(page, `${failing.url}/`);
    await composer(page).fill('this will fail');
    await composer(page).press('Enter');
    await page.waitForURL(/\/c\//);
    const reply = assistantMessages(page).first();
    await expect(reply).toHaveClass(/\berror\b/);
    await expect(reply.locator('.note')).toContainText('configured to fail after 5 tokens');
    await expect(reply.locator('.content')).not.toBeEmpty();

    await reply.getByRole('button', { name: 'Retry' }).click();
    await expect(assistantMessages(page).first().locator('.sibling-pos')).toHaveText('2/2');
    await expect(assistantMessages(page).first()).toHaveClass(/\berror\b/);
  } finally {
    await failing.stop();
  }
});

test('HTML typed by the user is shown as text and never runs', async ({ page }) => {
  let dialogs = 0;
  page.on('dialog', async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  const payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
  await startConversation(page, payload);
  await waitForReply(page);
  await expect(messages(page).first().locator('.content')).toHaveText(payload);
  await expect(page.locator('.messages img')).toHaveCount(0);
  await expect(page.locator('.messages script')).toHaveCount(0);
  expect(dialogs).toBe(0);
});

test('an over-long message is refused with a hint and the draft is kept', async ({ page }) => {
  await open(page, '/');
  const long = 'x'.repeat(32_001);
  await composer(page).fill(long);
  await composer(page).press('Enter');
  await expect(page.getByRole('status').filter({ hasText: 'too long' })).toBeVisible();
  await expect(composer(page)).toHaveValue(long);
  await expect(page).toHaveURL(/\/$/);
});

test('the tree panel draws hundreds of nodes and still switches branches on click', async ({ page, baseURL }) => {
  await startConversation(page, 'the trunk');
  await waitForReply(page);
  const conversation = page.url().split('/c/')[1];
  const firstReply = await assistantMessages(page).first().getAttribute('data-id');

  // Grow the tree through the API: 150 regenerated replies and 75 edited
  // roots (each with its reply), stopped at once so they stay short.
  const api = (name: string, body: object) =>
    page.request.post(`${baseURL}/api/${name}`, { data: body }).then(async (r) => {
      expect(r.ok(), `${name}: ${await r.text()}`).toBeTruthy();
      return r.json();
    });
  const created: string[] = [];
  for (let batch = 0; batch < 5; batch++) {
    const replies = await Promise.all(
      Array.from({ length: 30 }, () =>
        api('regenerate', { conversation_id: conversation, message_id: firstReply }),
      ),
    );
    const roots = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        api('send_message', {
          conversation_id: conversation,
          parent_id: null,
          client_id: `root-${batch}-${i}`,
          text: `root variant ${batch}-${i}`,
        }),
      ),
    );
    for (const receipt of [...replies, ...roots]) {
      created.push(receipt.assistant.id);
    }
  }
  await Promise.all(
    created.map((id) => api('stop_generation', { conversation_id: conversation, message_id: id })),
  );
  const total = 2 + 150 + 75 * 2;

  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  const panel = page.getByRole('complementary', { name: 'Conversation tree' });
  await expect(panel).toContainText(`(${total} messages)`);

  // Click the original trunk (the first root): its branch comes back.
  await pressInTree(page, 'Home');
  await pressInTree(page, 'ArrowLeft', 80);
  await expect(treeCursor(page)).toHaveAttribute('aria-posinset', '1');
  await clickTreeCursor(page);
  await expect(messages(page).first().locator('.content')).toHaveText('the trunk');
  await expect(messages(page).first().locator('.sibling-pos')).toHaveText(`1/${1 + 75}`);

  // Click the last root, far to the right: that branch is shown.
  await pressInTree(page, 'ArrowRight', 80);
  await expect(treeCursor(page)).toHaveAttribute('aria-posinset', `${1 + 75}`);
  const farId = await treeCursor(page).getAttribute('data-node-id');
  await clickTreeCursor(page);
  await expect(messages(page).first()).toHaveAttribute('data-id', farId!);
  await expect(treeCursor(page)).toHaveAttribute('aria-selected', 'true');
});

test('a server killed mid-reply comes back with the partial reply marked interrupted, without a reload', async ({ page }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'arbor-crash-'));
  const addr = `127.0.0.1:${await freePort()}`;
  const env = { ARBOR_OFFLINE_TOKEN_MS: '80', ARBOR_CHECKPOINT_MS: '0' };
  try {
    const first = await startArbor({ dataDir, addr, env });
    await open(page, `${first.url}/`);
    await composer(page).fill('crash while you write');
    await composer(page).press('Enter');
    await page.waitForURL(/\/c\//);
    const reply = assistantMessages(page).first();
    await expect(reply).toHaveClass(/\bstreaming\b/);
    await expect(reply.locator('.content li')).not.toHaveCount(0);
    await first.crash();

    const second = await startArbor({ dataDir, addr, env });
    try {
      // The page's event stream reconnects by itself, learns that it cannot
      // resume (new server), and reloads the conversation.
      await expect(reply).toHaveClass(/\binterrupted\b/);
      await expect(reply.locator('.note')).toContainText('Interrupted');
      await expect(reply.locator('.content li')).not.toHaveCount(0);
      await expect(messages(page).first().locator('.content')).toHaveText('crash while you write');
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
