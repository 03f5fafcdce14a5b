import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The account every started server gets first (its administrator). */
export const ADMIN = { username: 'admin', password: 'admin password' };

/** A running Arbor server. */
export interface Arbor {
  url: string;
  /** The administrator's session cookie value (none with `account: false`). */
  session?: string;
  /** Stops it (SIGTERM) and removes its database if it made one. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would; the database stays. */
  crash(): Promise<void>;
}

export interface ArborOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Where the SQLite file lives (default: a fresh temporary folder). */
  dataDir?: string;
  /** Address to listen on (default: a free loopback port). */
  addr?: string;
  /** Sign up (or, on an existing database, sign in) the administrator (default true). */
  account?: boolean;
}

/** Session cookies of the servers this process started, by URL. */
const sessions = new Map<string, string>();

/** The administrator's session on the server at `url`, if this process started it. */
export function sessionOf(url: string): string | undefined {
  return sessions.get(url) ?? (url === process.env.ARBOR_URL ? process.env.ARBOR_SESSION : undefined);
}

/**
 * Signs `username` up on the server at `url` (or in, if the account
 * exists) through the server functions, as a browser form would; answers
 * the session cookie's value.
 */
export async function createSession(url: string, username = ADMIN.username, password = ADMIN.password): Promise<string> {
  for (const endpoint of ['sign_up', 'log_in']) {
    const response = await fetch(`${url}/api/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ username, password }).toString(),
      redirect: 'manual',
    });
    const match = (response.headers.get('set-cookie') ?? '').match(/arbor_session=([0-9a-f]{64})/);
    if (match) {
      return match[1];
    }
  }
  throw new Error(`cannot sign ${username} up or in on ${url}`);
}

/**
 * Writes one conversation of `nodes` messages ("Message #0", "Message #1",
 * …) into the database of `dataDir` with the seed example (built by
 * `cargo build -p server --example seed`); returns its id.
 */
export function seedConversation(dataDir: string, nodes: number, shape: 'bushy' | 'line'): string {
  const root = resolve(__dirname, '..');
  const seed = join(root, 'target', 'debug', 'examples', 'seed');
  return execFileSync(seed, [join(dataDir, 'arbor.db'), String(nodes), shape], { encoding: 'utf8' }).trim();
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject()));
    });
  });
}

/**
 * Starts the server built by `cargo leptos build` (it prints the URL it
 * bound) and returns once it listens.
 */
export async function startArbor(options: ArborOptions = {}): Promise<Arbor> {
  const root = resolve(__dirname, '..');
  const binary = process.env.ARBOR_SERVER_BIN
    ? resolve(process.env.ARBOR_SERVER_BIN)
    : join(root, 'target', 'leptos', 'debug', 'server');
  const ownsData = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'arbor-e2e-'));
  const child: ChildProcess = spawn(binary, [], {
    cwd: root,
    env: {
      ...process.env,
      ARBOR_ADDR: options.addr ?? '127.0.0.1:0',
      ARBOR_DATABASE_URL: join(dataDir, 'arbor.db'),
      ARBOR_SITE_ROOT: join(root, 'target', 'site'),
      ARBOR_OFFLINE_TOKEN_MS: '40',
      // The deterministic offline model answers (the fetched real one
      // would otherwise be the default); a test may name a model file.
      ARBOR_LOCAL_MODEL: 'off',
      // The browser tests send fast; the rate limits have their own tests.
      ARBOR_SENDS_PER_MINUTE: '1000000',
      ARBOR_SENDS_PER_MINUTE_PER_IP: '1000000',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((done) => child.once('exit', done));

  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
    child.once('error', (error) => reject(new Error(`cannot start ${binary}: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`server exited early with code ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = line.match(/^Arbor is listening on (\S+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
  });

  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  let session: string | undefined;
  if (options.account ?? true) {
    session = await createSession(url);
    sessions.set(url, session);
  }
  return {
    url,
    session,
    async stop() {
      await end('SIGTERM');
      if (ownsData) {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    crash: () => end('SIGKILL'),
  };
}
