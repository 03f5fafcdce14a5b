import { assistantMessages, composer, expect, messages, open, serveWithFakeProvider, test, waitForReply } from './fixtures';

// Script-injection attempts, sent as a user's text and streamed back word
// by word as a model's reply (the fake `fake-verbatim` model repeats the
// message exactly). Every one must render as inert text or safe markup:
// raw HTML is shown as text, a markdown link keeps only a safe target.
const CORPUS = [
  `<script>alert('script-tag')</script>`,
  `<img src=x onerror="alert('img-onerror');document.body.setAttribute('data-xss','img')">`,
  `<svg onload="alert('svg-onload')"><circle r="10"/></svg>`,
  `<svg><script>alert('svg-script')</script></svg>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="alert('mathml')"></style></mglyph></table></mtext></math>`,
  `<a href="javascript:alert('html-link')">html link</a>`,
  `[markdown link](javascript:alert('md-link'))`,
  `[entity link](&#106;avascript:alert('entity-link'))`,
  `<a href="jav&#x09;ascript:alert('tab-link')">tab link</a>`,
  `![image](javascript:alert('md-image'))`,
  `[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
  `<iframe src="javascript:alert('iframe')"></iframe>`,
  `<details open ontoggle="alert('details')">toggle</details>`,
  `<div style="background:url(javascript:alert('style'))" onmouseover="alert('hover')">styled</div>`,
  `<object data="javascript:alert('object')"></object><embed src="javascript:alert('embed')">`,
  `<form action="javascript:alert('form')"><button formaction="javascript:alert('fa')">go</button></form>`,
  `&lt;script&gt;alert('entities')&lt;/script&gt;`,
  `[safe link](https://example.com/safe)`,
].join('\n\n');

const served = serveWithFakeProvider();

test('script injection in user text and model output renders inert', async ({ page }) => {
  const dialogs: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await open(page, `${served.arbor.url}/`);
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker.locator('option[value="local/fake-verbatim"]')).toBeAttached();
  await picker.selectOption('local/fake-verbatim');
  await composer(page).fill(CORPUS);
  await composer(page).press('Enter');
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  const reply = await waitForReply(page);
  await expect(reply).toContainText('safe link');
  await expect(reply).toContainText("<script>alert('entities')</script>");
  await expect(messages(page).first()).toContainText("<script>alert('script-tag')</script>");

  // Hover and click everything that might carry a handler, then look.
  for (const element of await page.locator('.messages .content *').all()) {
    await element.hover({ force: true }).catch(() => {});
  }
  await reloadAndCheck();

  async function reloadAndCheck() {
    // What the user and the model wrote, and the title made from it.
    for (const scope of ['.messages .content', '.conversation-list .conversation-link']) {
      const injected = await page.locator(scope).evaluateAll((roots) => {
        const found: string[] = [];
        for (const el of roots.flatMap((root) => Array.from(root.querySelectorAll('*')))) {
          const tag = el.tagName.toLowerCase();
          if (['script', 'iframe', 'object', 'embed', 'svg', 'math', 'form', 'style'].includes(tag)) {
            found.push(`<${tag}>`);
          }
          for (const attribute of Array.from(el.attributes)) {
            const value = attribute.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
            if (attribute.name.startsWith('on') || attribute.name === 'style' || attribute.name === 'formaction') {
              found.push(`${tag}[${attribute.name}]`);
            }
            if (['href', 'src', 'action', 'data'].includes(attribute.name) && /^(javascript|data|vbscript):/.test(value)) {
              found.push(`${tag}[${attribute.name}=${attribute.value}]`);
            }
          }
        }
        return found;
      });
      expect(injected, `injected into ${scope}`).toEqual([]);
    }
    await expect(page.locator('body')).not.toHaveAttribute('data-xss', /.*/);
    const safe = assistantMessages(page).last().locator('a[href="https://example.com/safe"]');
    await expect(safe).toHaveAttribute('rel', /noopener/);
    await expect(safe).toHaveAttribute('rel', /noreferrer/);
  }

  // Server-rendered, the same conversation is just as inert.
  await page.reload();
  await expect(page.locator('body[data-hydrated]')).toBeAttached();
  await expect(assistantMessages(page).last()).toContainText('safe link');
  await reloadAndCheck();
  expect(dialogs).toEqual([]);
});
