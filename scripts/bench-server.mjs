// What the browser benchmarks share: seeding conversations with the seed
// example, and the release server on that database, signed up so pages
// open as its first account (which adopts the seeded conversations).
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Seeds a conversation of `nodes` messages ('line' or 'bushy'); answers its id. */
export function seed(root, database, nodes, shape) {
  return execFileSync(join(root, 'target/release/examples/seed'), [database, String(nodes), shape], {
    encoding: 'utf8',
  }).trim();
}

/**
 * Starts `target/leptos/release/server` on `database`, signs up its first
 * account, and answers `{ url, session, cookie, signIn(context), stop() }`.
 */
export async function startServer(root, database) {
  const server = spawn(join(root, 'target/leptos/release/server'), [], {
    cwd: root,
    env: {
      ...process.env,
      ARBOR_ADDR: '127.0.0.1:0',
      ARBOR_DATABASE_URL: database,
      ARBOR_SITE_ROOT: join(root, 'target/site'),
      // The benchmarks measure Arbor with the deterministic offline model.
      ARBOR_LOCAL_MODEL: 'off',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((done) => server.once('exit', done));
    }
  };
  try {
    const url = await new Promise((done, fail) => {
      server.once('exit', (code) => fail(new Error(`the server exited with ${code}`)));
      createInterface({ input: server.stdout }).on('line', (line) => {
        const match = line.match(/^Arbor is listening on (\S+)/);
        if (match) done(match[1]);
      });
    });
    const signUp = await fetch(`${url}/api/sign_up`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ username: 'bench', password: 'bench password' }).toString(),
      redirect: 'manual',
    });
    const session = (signUp.headers.get('set-cookie') ?? '').match(/arbor_session=([0-9a-f]{64})/)?.[1];
    if (!session) throw new Error(`sign-up failed: ${signUp.status}`);
    return {
      url,
      /** The `Cookie` header value of the signed-up account. */
      cookie: `arbor_session=${session}`,
      /** Gives a Playwright browser context the account's session. */
      signIn: (context) =>
        context.addCookies([{ name: 'arbor_session', value: session, url, httpOnly: true, sameSite: 'Lax' }]),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
