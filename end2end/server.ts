import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** A running Arbor server with its own throw-away database. */
export interface Arbor {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the server built by `cargo leptos build` on a free loopback port
 * (it prints the URL it bound) with a fresh SQLite file. `stop` ends it by
 * its PID and removes the database.
 */
export async function startArbor(env: Record<string, string> = {}): Promise<Arbor> {
  const root = resolve(__dirname, '..');
  const binary = process.env.ARBOR_SERVER_BIN
    ? resolve(process.env.ARBOR_SERVER_BIN)
    : join(root, 'target', 'debug', 'server');
  const dataDir = mkdtempSync(join(tmpdir(), 'arbor-e2e-'));
  const child: ChildProcess = spawn(binary, [], {
    cwd: root,
    env: {
      ...process.env,
      ARBOR_ADDR: '127.0.0.1:0',
      ARBOR_DATABASE_URL: join(dataDir, 'arbor.db'),
      ARBOR_SITE_ROOT: join(root, 'target', 'site'),
      ARBOR_OFFLINE_TOKEN_MS: '40',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });

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

  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
