import { BrowserContext, test as base, expect, Locator, Page } from '@playwright/test';
import { FakeOpenAi, startFakeOpenAi } from '../fake-openai';
import { Arbor, sessionOf, startArbor } from '../server';

/** Gives `context` the session cookie for the server at `url`. */
export async function signIn(context: BrowserContext, url: string, session = sessionOf(url)): Promise<void> {
  if (!session) throw new Error(`no session for ${url}`);
  await context.addCookies([
    { name: 'arbor_session', value: session, url, httpOnly: true, sameSite: 'Lax' },
  ]);
}

// Every test talks to the server started by global-setup.ts, signed in as
// its administrator, and fails on any Content-Security-Policy violation.
export const test = base.extend<{ cspViolations: string[] }>({
  baseURL: async ({}, use) => {
    await use(process.env.ARBOR_URL);
  },
  context: async ({ context }, use) => {
    await signIn(context, process.env.ARBOR_URL!);
    await use(context);
  },
  cspViolations: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
          violations.push(message.text());
        }
      });
      await use(violations);
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/**
 * Gives each test of the calling file its own Arbor, configured with a
 * fake OpenAI-compatible provider `local` (see fake-openai.ts), both
 * stopped after the test; `served.arbor` is the one running.
 */
export function serveWithFakeProvider(): { arbor: Arbor; fake: FakeOpenAi } {
  const served = {} as { arbor: Arbor; fake: FakeOpenAi };
  test.beforeEach(async () => {
    served.fake = await startFakeOpenAi();
    served.arbor = await startArbor({ env: { ARBOR_CONFIG: served.fake.configFile() } });
  });
  test.afterEach(async () => {
    await served.arbor.stop();
    await served.fake.stop();
  });
  return served;
}

/**
 * Opens a page and waits until the WASM app has hydrated it. A page of a
 * server this test started is opened as that server's administrator.
 */
export async function open(page: Page, path: string): Promise<void> {
  const origin = path.match(/^https?:\/\/[^/]+/)?.[0];
  if (origin && origin !== process.env.ARBOR_URL && sessionOf(origin)) {
    await signIn(page.context(), origin);
  }
  await page.goto(path);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}

export function composer(page: Page): Locator {
  return page.getByRole('textbox', { name: 'Message' });
}

/** The messages of the displayed branch, in order. */
export function messages(page: Page): Locator {
  return page.locator('.messages article.message');
}

export function assistantMessages(page: Page): Locator {
  return page.locator('.messages article.message.assistant');
}

/** Starts a conversation from the home page with its first message. */
export async function startConversation(page: Page, text: string): Promise<void> {
  await open(page, '/');
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
}

/** Sends a message in the open conversation. */
export async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

/**
 * Resolves once the server has answered the next call of the server
 * function `name` (e.g. `set_active_leaf`): the page saves some choices in
 * the background, so a test that reloads or reads the server right after
 * one must wait for it. Call it before the action that saves.
 */
export function saved(page: Page, name: string): Promise<unknown> {
  return page.waitForResponse((r) => r.url().includes(`/api/${name}`) && r.ok());
}

/** Waits until the last reply of the displayed branch has finished streaming. */
export async function waitForReply(page: Page): Promise<Locator> {
  const reply = assistantMessages(page).last();
  await expect(reply).toHaveClass(/\bcomplete\b/);
  return reply;
}

/** The tree drawing (the element that takes the keyboard). */
export function treeFrame(page: Page): Locator {
  return page.getByRole('tree', { name: 'Messages as a tree' });
}

/** The node under the tree's keyboard cursor. */
export function treeCursor(page: Page): Locator {
  return treeFrame(page).getByRole('treeitem');
}

/** Presses `key` `times` times in the tree drawing. */
export async function pressInTree(page: Page, key: string, times = 1): Promise<void> {
  await treeFrame(page).focus();
  for (let i = 0; i < times; i++) {
    await page.keyboard.press(key);
  }
}

/** Clicks the tree drawing where the keyboard cursor is. */
export async function clickTreeCursor(page: Page): Promise<void> {
  const box = await treeCursor(page).boundingBox();
  if (!box) throw new Error('the tree cursor is not drawn');
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}
