import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arbor, seedConversation, startArbor } from '../server';
import {
  clickTreeCursor,
  composer,
  expect,
  messages,
  open,
  pressInTree,
  test,
  treeCursor,
  treeFrame,
} from './fixtures';

// A conversation of 2,000 messages in runs of eight, each run branching off
// an earlier message, on a server of its own.
let arbor: Arbor;
let dataDir: string;
// One conversation per test, so a branch switched in one does not change the other.
let conversations: string[];

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'arbor-tree-'));
  conversations = [seedConversation(dataDir, 2000, 'bushy'), seedConversation(dataDir, 2000, 'bushy')];
  arbor = await startArbor({ dataDir });
});

test.afterAll(async () => {
  await arbor?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The number in the cursor's "Message #N". */
async function cursorMessage(page: import('@playwright/test').Page): Promise<number> {
  // A node off the shown branch gets its text on demand.
  await expect(treeCursor(page)).toHaveAttribute('aria-label', /Message #\d+/);
  const label = (await treeCursor(page).getAttribute('aria-label')) ?? '';
  const match = label.match(/Message #(\d+)/);
  if (!match) throw new Error(`no message number in "${label}"`);
  return Number(match[1]);
}

test('the keyboard walks a 2,000-message tree and switches branches', async ({ page }) => {
  await open(page, `${arbor.url}/c/${conversations[0]}`);
  await expect(page.locator('.tree-panel .node-count')).toHaveText('(2000 messages)');
  await expect(messages(page).last().locator('.content')).toHaveText('Message #1999');

  // The cursor starts at the shown branch's end.
  const cursor = treeCursor(page);
  await treeFrame(page).focus();
  await expect(cursor).toHaveAttribute('aria-label', /Message #1999, on the shown branch/);
  await expect(cursor).toHaveAttribute('aria-selected', 'true');

  // Up through the run of eight to the message it branched from.
  await pressInTree(page, 'ArrowUp', 7);
  await expect(cursor).toHaveAttribute('aria-label', /Message #1992\b/);
  await pressInTree(page, 'ArrowUp');
  const forkPoint = await cursorMessage(page);
  expect(forkPoint).toBeLessThan(1992);
  await expect(cursor).toHaveAttribute('aria-expanded', 'true');

  // Down comes back toward the shown branch; Left goes to an older sibling.
  await pressInTree(page, 'ArrowDown');
  await expect(cursor).toHaveAttribute('aria-label', /Message #1992\b/);
  await pressInTree(page, 'ArrowLeft');
  await expect(cursor).not.toHaveAttribute('aria-label', /on the shown branch/);
  const sibling = await cursorMessage(page);
  expect(sibling).toBeLessThan(1992);

  // Focus previews the node's text beside it.
  await expect(page.getByRole('tooltip')).toContainText(`Message #${sibling}`);

  // Enter shows that sibling's branch in the chat.
  await pressInTree(page, 'Enter');
  await expect(messages(page).getByText(`Message #${sibling}`, { exact: true })).toHaveCount(1);
  await expect(messages(page).getByText('Message #1999', { exact: true })).toHaveCount(0);
  await expect(cursor).toHaveAttribute('aria-label', /on the shown branch/);

  // Home goes to the first message; End to the branch's end.
  await pressInTree(page, 'Home');
  await expect(cursor).toHaveAttribute('aria-label', /Message #0,/);
  await expect(cursor).toHaveAttribute('aria-level', '1');
  await pressInTree(page, 'End');
  await expect(cursor).toHaveAttribute('aria-label', /on the shown branch/);
  await expect(cursor).not.toHaveAttribute('aria-level', '1');
});

test('clicking, hovering, collapsing, zooming, panning and full screen in a 2,000-message tree', async ({ page }) => {
  await open(page, `${arbor.url}/c/${conversations[1]}`);
  const cursor = treeCursor(page);
  const frame = treeFrame(page);

  // Hovering a node previews it; clicking it shows its branch.
  await pressInTree(page, 'ArrowUp', 8);
  await pressInTree(page, 'ArrowDown');
  await pressInTree(page, 'ArrowLeft');
  const target = await cursorMessage(page);
  await composer(page).focus();
  const box = (await cursor.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(page.getByRole('tooltip')).toContainText(`Message #${target}`);
  await clickTreeCursor(page);
  await expect(messages(page).getByText(`Message #${target}`, { exact: true })).toHaveCount(1);
  await expect(cursor).toHaveAttribute('aria-selected', 'true');

  // Space folds the subtree away and says how much is hidden; again unfolds it.
  await pressInTree(page, 'ArrowUp');
  await expect(cursor).toHaveAttribute('aria-expanded', 'true');
  await pressInTree(page, ' ');
  await expect(cursor).toHaveAttribute('aria-expanded', 'false');
  await expect(cursor).toHaveAttribute('aria-label', /collapsed, \d+ hidden/);
  await expect(page.locator('.tree .hidden-count')).toHaveText(/^\+\d+$/);
  await expect(page.getByRole('button', { name: 'Expand' })).toBeVisible();
  await pressInTree(page, ' ');
  await expect(cursor).toHaveAttribute('aria-expanded', 'true');
  await expect(page.locator('.tree .hidden-count')).toHaveCount(0);

  // Zoom with keys, buttons and Ctrl+wheel; Fit shows the whole tree.
  const zoom = page.locator('.zoom-level');
  await expect(zoom).toHaveText('100%');
  await pressInTree(page, '+');
  await expect(zoom).toHaveText('125%');
  await page.getByRole('button', { name: 'Zoom out' }).click();
  await expect(zoom).toHaveText('100%');
  await page.getByRole('button', { name: 'Fit' }).click();
  await expect(zoom).not.toHaveText('100%');
  const fitted = Number((await zoom.textContent())!.replace('%', ''));
  expect(fitted).toBeLessThan(100);
  const frameBox = (await frame.boundingBox())!;
  await page.mouse.move(frameBox.x + frameBox.width / 2, frameBox.y + frameBox.height / 2);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await expect.poll(async () => Number((await zoom.textContent())!.replace('%', ''))).toBeGreaterThan(fitted);

  // Dragging pans the drawing and does not switch branches.
  const world = page.locator('.tree-world');
  const before = await world.getAttribute('transform');
  const shown = await messages(page).last().getAttribute('data-id');
  await page.mouse.move(frameBox.x + 60, frameBox.y + 60);
  await page.mouse.down();
  await page.mouse.move(frameBox.x + 160, frameBox.y + 140, { steps: 5 });
  await page.mouse.up();
  await expect(world).not.toHaveAttribute('transform', before!);
  await expect(messages(page).last()).toHaveAttribute('data-id', shown!);

  // Full screen covers the page; Escape leaves it.
  const panel = page.getByRole('complementary', { name: 'Conversation tree' });
  await page.getByRole('button', { name: 'Full screen' }).click();
  await expect(panel).toHaveClass(/full-screen/);
  await expect.poll(async () => (await frame.boundingBox())!.width).toBeGreaterThan(1000);
  await page.keyboard.press('Escape');
  await expect(panel).not.toHaveClass(/full-screen/);
  await pressInTree(page, 'f');
  await expect(panel).toHaveClass(/full-screen/);
  await page.getByRole('button', { name: 'Exit full screen' }).click();
  await expect(panel).not.toHaveClass(/full-screen/);
});
