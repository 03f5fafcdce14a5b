import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fake OpenAI-compatible server for browser tests: real HTTP on
 * 127.0.0.1 speaking `POST /v1/chat/completions` with `stream: true`
 * (`data: {chunk}` events, each written in two halves, a usage chunk,
 * `data: [DONE]`) and `GET /v1/models`. The requested model picks the
 * behaviour:
 *
 * - `fake-echo`: "You said: <last user message>", a word every 120 ms;
 * - `fake-verbatim`: the last user message exactly, a word every 10 ms;
 * - `fake-slow`: 200 numbered words, 60 ms apart;
 * - `fake-429`: OpenAI's rate-limit error;
 * - `fake-tools`: calls `current_time` (its arguments streamed in two
 *   fragments), then answers "Tool answered: <result>";
 * - a title request (any model) gets "Fake Model Title".
 */
export interface FakeOpenAi {
  /** The API base, ending in `/v1`. */
  baseUrl: string;
  /** Writes an Arbor config file naming this fake as provider `local`. */
  configFile(): string;
  stop(): Promise<void>;
}

export const FAKE_MODELS = ['fake-echo', 'fake-verbatim', 'fake-slow', 'fake-429', 'fake-tools'];
const TITLE_REQUEST = 'Write a title of 2 to 8 words';

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function readJson(request: IncomingMessage): Promise<any> {
  let text = '';
  for await (const piece of request) text += piece;
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

function chunk(model: string, delta: object, finishReason: string | null): string {
  const body = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** Writes an event in two halves, as a real network may split it. */
async function write(response: ServerResponse, event: string): Promise<boolean> {
  if (response.destroyed) return false;
  const half = Math.floor(event.length / 2);
  response.write(event.slice(0, half));
  await pause(1);
  if (response.destroyed) return false;
  response.write(event.slice(half));
  return true;
}

async function stream(response: ServerResponse, model: string, words: string[], gapMs: number): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  await write(response, chunk(model, { role: 'assistant', content: '' }, null));
  for (const word of words) {
    await pause(gapMs);
    if (!(await write(response, chunk(model, { content: word }, null)))) return;
  }
  await write(response, chunk(model, {}, 'stop'));
  const usage = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [],
    usage: { prompt_tokens: 7, completion_tokens: words.length, total_tokens: 7 + words.length },
  };
  await write(response, `data: ${JSON.stringify(usage)}\n\n`);
  await write(response, 'data: [DONE]\n\n');
  response.end();
}

/** Streams one tool call, its arguments in `fragments`, and ends the turn. */
async function callTool(response: ServerResponse, model: string, name: string, fragments: string[]): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  await write(response, chunk(model, { role: 'assistant', content: null }, null));
  const start = { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name, arguments: '' } }] };
  await write(response, chunk(model, start, null));
  for (const fragment of fragments) {
    await pause(20);
    await write(response, chunk(model, { tool_calls: [{ index: 0, function: { arguments: fragment } }] }, null));
  }
  await write(response, chunk(model, {}, 'tool_calls'));
  await write(response, 'data: [DONE]\n\n');
  response.end();
}

const spaced = (text: string) => text.split(' ').map((word, i, all) => (i < all.length - 1 ? `${word} ` : word));

async function chatCompletions(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJson(request);
  const model = String(body.model ?? '');
  if (JSON.stringify(body).includes(TITLE_REQUEST)) {
    return stream(response, model, spaced('"Fake Model Title."'), 5);
  }
  switch (model) {
    case 'fake-429':
      response.writeHead(429, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          error: { message: 'Rate limit reached for requests.', type: 'requests', param: null, code: 'rate_limit_exceeded' },
        }),
      );
      return;
    case 'fake-tools': {
      const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
      const last = messages[messages.length - 1];
      if (last?.role === 'tool') {
        return stream(response, model, spaced(`Tool answered: ${last.content}`), 60);
      }
      return callTool(response, model, 'current_time', ['{', '}']);
    }
    case 'fake-verbatim':
      return stream(response, model, spaced(lastUserText(body)), 10);
    case 'fake-slow':
      return stream(response, model, Array.from({ length: 200 }, (_, i) => `w${i + 1} `), 60);
    default:
      return stream(response, model, spaced(`You said: ${lastUserText(body)}`), 120);
  }
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      const data = FAKE_MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' }));
      response.end(JSON.stringify({ object: 'list', data }));
      return;
    }
    if (request.method === 'POST' && request.url === '/v1/chat/completions') {
      chatCompletions(request, response).catch(() => response.destroy());
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const configDirs: string[] = [];
  return {
    baseUrl,
    configFile() {
      const dir = mkdtempSync(join(tmpdir(), 'arbor-config-'));
      configDirs.push(dir);
      const path = join(dir, 'arbor.toml');
      writeFileSync(
        path,
        [
          'default_model = "offline/arbor-offline"',
          '[[providers]]',
          'name = "local"',
          'kind = "openai"',
          `base_url = "${baseUrl}"`,
          '[[providers.models]]',
          'id = "fake-echo"',
          'label = "Echo"',
          'params = { temperature = 0.5 }',
        ].join('\n'),
      );
      return path;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
      for (const dir of configDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
