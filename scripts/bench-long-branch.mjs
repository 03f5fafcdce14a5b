// Measures how fast a long branch opens: seeds one branch of NODES messages
// (default 10,000) into a fresh SQLite file, starts the release server on
// it, then reports
//   - get_conversation over loopback HTTP: the first call (the actor loads
//     the conversation from SQLite) and the median and p95 of later calls,
//     with the answer's size;
//   - Chromium: first paint, first contentful paint and the moment the page
//     is hydrated and the moment the whole tree is known (its outline
//     arrives after the page), each from navigation start, over RUNS fresh
//     page loads;
//   - the tree view of a bushy tree of NODES messages: the same page-load
//     figures, then the time each keyboard move in the tree takes (from the
//     key event until the page has handled it and the cursor moved).
// Run it through scripts/bench-long-branch.sh, which builds what it needs.
// Figures go to docs/BENCHMARKS.md; nothing here asserts them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seed, startServer } from './bench-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(join(root, 'end2end/node_modules/playwright-core/index.mjs'));
const nodes = Number(process.env.NODES ?? 10000);
const runs = Number(process.env.RUNS ?? 10);
const calls = 30;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];
const ms = (x) => `${x.toFixed(1)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'arbor-bench-long-'));
const database = join(dir, 'arbor.db');
let server;
try {
  const seeding = performance.now();
  const conversation = seed(root, database, nodes, 'line');
  console.log(`seeded a ${nodes}-message branch in ${ms(performance.now() - seeding)}`);
  // Both before the server starts: its first account adopts what is there.
  const bushy = seed(root, database, nodes, 'bushy');

  server = await startServer(root, database);
  const { url } = server;

  const getConversation = async () => {
    const start = performance.now();
    const response = await fetch(`${url}/api/get_conversation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: server.cookie },
      body: JSON.stringify({ id: conversation }),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`get_conversation: ${response.status} ${body}`);
    return { time: performance.now() - start, bytes: body.length, view: JSON.parse(body) };
  };
  const cold = await getConversation();
  const warm = [];
  for (let i = 0; i < calls; i++) warm.push((await getConversation()).time);
  console.log(
    `get_conversation: first call ${ms(cold.time)} (actor loads ${nodes} rows); ` +
      `then median ${ms(median(warm))}, p95 ${ms(p95(warm))} over ${calls} calls; ` +
      `answer ${(cold.bytes / 1024).toFixed(0)} KiB (${cold.view.outline.length} outlines, ${cold.view.nodes.length} texts)`,
  );

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  const loads = async (id, what) => {
    const paint = [];
    const contentful = [];
    const hydrated = [];
    const whole = [];
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await server.signIn(context);
      const page = await context.newPage();
      await page.goto(`${url}/c/${id}`);
      await page.waitForSelector('body[data-hydrated]', { timeout: 60_000 });
      const timing = await page.evaluate(() => {
        const entry = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
        return {
          paint: entry('first-paint'),
          contentful: entry('first-contentful-paint'),
          hydrated: performance.now(),
          shown: document.querySelectorAll('.messages article.message').length,
        };
      });
      if (timing.shown > 40) throw new Error(`expected at most 40 messages shown, found ${timing.shown}`);
      // The rest of the tree's outline arrives after the page is live.
      await page.waitForFunction(
        (n) => document.querySelector('.tree-panel .node-count')?.textContent === `(${n} messages)`,
        nodes,
        { timeout: 60_000 },
      );
      whole.push(await page.evaluate(() => performance.now()));
      paint.push(timing.paint);
      contentful.push(timing.contentful);
      hydrated.push(timing.hydrated);
      await context.close();
    }
    console.log(
      `Chromium, ${runs} fresh loads of ${what}: first paint median ${ms(median(paint))} ` +
        `(p95 ${ms(p95(paint))}); first contentful paint median ${ms(median(contentful))} ` +
        `(p95 ${ms(p95(contentful))}); hydrated (interactive) median ${ms(median(hydrated))}; ` +
        `whole tree known median ${ms(median(whole))}`,
    );
  };
  await loads(conversation, `the chat page of the ${nodes}-message branch`);

  await loads(bushy, `the chat page of a ${nodes}-message bushy tree`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await server.signIn(context);
  const page = await context.newPage();
  await page.goto(`${url}/c/${bushy}`);
  await page.waitForSelector('body[data-hydrated]', { timeout: 60_000 });
  const moves = await page.evaluate(async () => {
    const tree = document.querySelector('[role="tree"]');
    tree.focus();
    const cursor = () => tree.getAttribute('aria-activedescendant');
    const settle = () => new Promise((done) => setTimeout(done, 0));
    const keys = [];
    for (let i = 0; i < 10; i++) keys.push('ArrowUp');
    for (let i = 0; i < 20; i++) keys.push(i % 2 ? 'ArrowRight' : 'ArrowLeft', 'ArrowDown', 'ArrowUp');
    const times = [];
    for (const key of keys) {
      const before = cursor();
      const start = performance.now();
      tree.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
      while (cursor() === before && performance.now() - start < 1000) await settle();
      // A move with nowhere to go (no sibling there) does not count.
      if (cursor() !== before) times.push(performance.now() - start);
    }
    return times;
  });
  await context.close();
  console.log(
    `tree view, ${nodes} nodes: ${moves.length} keyboard moves that moved the cursor, median ${ms(median(moves))}, ` +
      `p95 ${ms(p95(moves))}, slowest ${ms(Math.max(...moves))}`,
  );
  await browser.close();
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
