import { Browser, Page } from '@playwright/test';
import { Arbor, startArbor } from '../server';
import { composer, expect, messages, test, waitForReply } from './fixtures';

// Each test runs its own Arbor with no accounts yet (a first run).
let arbor: Arbor;

test.beforeEach(async () => {
  arbor = await startArbor({ account: false });
});

test.afterEach(async () => {
  await arbor.stop();
});

/** A fresh browser with no cookies at all. */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

async function fillCredentials(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${arbor.url}/login`);
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await fillCredentials(page, username, password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('the first visitor creates the admin account, signs out and back in', async ({ browser }) => {
  const page = await freshPage(browser);
  await page.goto(`${arbor.url}/`);
  await expect(page).toHaveURL(`${arbor.url}/signup`);
  await expect(page.getByTestId('first-run')).toContainText('will be its administrator');
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await fillCredentials(page, 'alice', 'alice password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(`${arbor.url}/`);
  await expect(page.getByTestId('account-name')).toHaveText('alice');
  await expect(page.getByRole('link', { name: 'Administration' })).toBeVisible();
  const cookies = await page.context().cookies(arbor.url);
  const session = cookies.find((c) => c.name === 'arbor_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
  expect(await page.evaluate(() => document.cookie)).not.toContain('arbor_session');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${arbor.url}/login`);
  await page.goto(`${arbor.url}/`);
  await expect(page).toHaveURL(`${arbor.url}/login`);

  await signIn(page, 'alice', 'not her password');
  await expect(page.getByTestId('sign-in-error')).toHaveText('Wrong username or password.');
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel('Password').fill('alice password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${arbor.url}/`);
  await expect(page.getByTestId('account-name')).toHaveText('alice');

  // Sign-up is closed now that an account exists.
  await page.context().clearCookies();
  await page.goto(`${arbor.url}/signup`);
  await expect(page.getByTestId('sign-up-closed')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create account' })).toHaveCount(0);
  await page.context().close();
});

test("a second user cannot open the first user's conversation", async ({ browser }) => {
  const alice = await freshPage(browser);
  await alice.goto(`${arbor.url}/signup`);
  await expect(alice.locator('body[data-hydrated]')).toBeAttached();
  await fillCredentials(alice, 'alice', 'alice password');
  await alice.getByRole('button', { name: 'Create account' }).click();
  await expect(alice.getByTestId('account-name')).toHaveText('alice');
  await composer(alice).fill("alice's private note");
  await composer(alice).press('Enter');
  await alice.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await waitForReply(alice);
  const conversationUrl = alice.url();

  // The administrator creates Bob's account on the administration page.
  await alice.getByRole('link', { name: 'Administration' }).click();
  await expect(alice).toHaveURL(`${arbor.url}/admin`);
  const form = alice.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('Username').fill('bob');
  await form.getByLabel('Password').fill('bob password');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(alice.getByTestId('account-created')).toContainText('bob');
  await expect(alice.getByTestId('accounts')).toContainText('bob');

  // Bob, in his own browser, is sent to sign in and back to the URL.
  const bob = await freshPage(browser);
  await bob.goto(conversationUrl);
  await expect(bob).toHaveURL(/\/login\?next=/);
  await expect(bob.locator('body[data-hydrated]')).toBeAttached();
  await fillCredentials(bob, 'bob', 'bob password');
  await bob.getByRole('button', { name: 'Sign in' }).click();
  await expect(bob).toHaveURL(conversationUrl);
  await expect(bob.getByTestId('account-name')).toHaveText('bob');
  await expect(bob.getByText('not found', { exact: false }).first()).toBeVisible();
  await expect(bob.locator('body')).not.toContainText("alice's private note");
  await expect(messages(bob)).toHaveCount(0);
  await expect(bob.getByRole('link', { name: 'Administration' })).toHaveCount(0);
  const admin = await bob.goto(`${arbor.url}/admin`);
  expect(admin?.status()).toBe(403);

  // Alice still has hers.
  await alice.goto(conversationUrl);
  await expect(messages(alice).first()).toContainText("alice's private note");
  await alice.context().close();
  await bob.context().close();
});
