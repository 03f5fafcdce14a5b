// Measures the first second of a chat page: for a branch of 40 and one of
// 10,000 messages (seeded into a fresh SQLite file), how long after
// navigation start the newest message is first on screen and when the page
// is hydrated, over RUNS loads each:
//   - cold: a fresh browser context per load (nothing cached);
//   - warm: one context, loaded once first, so the bundle is cached.
// "On screen" is checked on every animation frame: the last message of the
// list, with the newest text, inside the list's visible box. Before the
// list scrolled from its end, the server-rendered page showed the oldest
// of its messages and only the app scrolled to the newest.
// Run it through scripts/bench-first-second.sh, which builds what it needs.
// Figures go to docs/BENCHMARKS.md; nothing here asserts them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seed, startServer } from './bench-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(join(root, 'end2end/node_modules/playwright-core/index.mjs'));
const sizes = (process.env.SIZES ?? '40,10000').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 7);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

/** Watches every frame for the newest message on screen and for hydration. */
function watchFirstSecond(newestText) {
  const seen = { newest: null, hydrated: null };
  window.__firstSecond = seen;
  const frame = () => {
    const list = document.querySelector('.messages');
    const shown = document.querySelectorAll('.messages article.message');
    const last = shown[shown.length - 1];
    if (seen.newest === null && list && last && last.textContent.includes(newestText)) {
      const box = list.getBoundingClientRect();
      const message = last.getBoundingClientRect();
      if (message.height > 0 && message.bottom > box.top && message.top < box.bottom) {
        seen.newest = performance.now();
      }
    }
    if (seen.hydrated === null && document.body?.hasAttribute('data-hydrated')) {
      seen.hydrated = performance.now();
    }
    if (seen.newest === null || seen.hydrated === null) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

const dir = mkdtempSync(join(tmpdir(), 'arbor-bench-first-'));
const database = join(dir, 'arbor.db');
let server;
try {
  const conversations = sizes.map((size) => ({ size, id: seed(root, database, size, 'line') }));
  server = await startServer(root, database);
  const { url } = server;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  const context = async () => {
    const made = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await server.signIn(made);
    return made;
  };
  const load = async (page, id, newestText) => {
    await page.goto(`${url}/c/${id}`);
    await page.waitForFunction(
      () => {
        const seen = window.__firstSecond;
        return seen !== undefined && seen.newest !== null && seen.hydrated !== null;
      },
      null,
      { timeout: 60_000 },
    );
    return page.evaluate(() => window.__firstSecond);
  };
  for (const { size, id } of conversations) {
    const newestText = `Message #${size - 1}`;
    const cold = [];
    for (let i = 0; i < runs; i++) {
      const fresh = await context();
      await fresh.addInitScript(watchFirstSecond, newestText);
      cold.push(await load(await fresh.newPage(), id, newestText));
      await fresh.close();
    }
    const cached = await context();
    await cached.addInitScript(watchFirstSecond, newestText);
    await load(await cached.newPage(), id, newestText);
    const warm = [];
    for (let i = 0; i < runs; i++) {
      const page = await cached.newPage();
      warm.push(await load(page, id, newestText));
      await page.close();
    }
    await cached.close();
    for (const [what, times] of [['cold', cold], ['warm', warm]]) {
      console.log(
        `${size} messages, ${what} (${runs} loads): newest message on screen median ` +
          `${ms(median(times.map((t) => t.newest)))}, hydrated median ${ms(median(times.map((t) => t.hydrated)))}`,
      );
    }
  }
  await browser.close();
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
