import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Slack Web API stand-in: a real HTTP server on 127.0.0.1 that answers chat.postMessage,
 * chat.update, conversations.history, conversations.replies and auth.test the way Slack does
 * (form or JSON bodies, `ok`/`error` JSON, Bearer token), validates Block Kit limits, records
 * every request, and injects faults per method: 429 with Retry-After, HTTP errors, `ok:false`
 * errors, responses slower than the client's timeout, and connections dropped after the
 * message was stored (the ambiguous case). For outages it can fail every call until told
 * otherwise, and stop listening and listen again on the same port (connection refused).
 */

export type Fault =
  | { readonly kind: 'ratelimit'; readonly retryAfterSeconds: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'error'; readonly error: string }
  /** Does the work, then answers only after `ms` (longer than the client timeout). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Does the work, then destroys the connection without an answer. */
  | { readonly kind: 'drop' };

export interface RecordedRequest {
  readonly method: string;
  readonly authorization: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly params: Record<string, unknown>;
  readonly at: number;
  /** The fault injected into this request, if any. */
  readonly fault?: Fault['kind'];
}

export interface StubMessage {
  readonly channel: string;
  readonly ts: string;
  readonly thread_ts?: string;
  text: string;
  blocks: unknown[];
  readonly metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** Every chat.update applied to this message, in order. */
  readonly updates: { text: string; blocks: unknown[]; at: number }[];
}

export interface SlackStub {
  /** Base URL for SLACK_API_URL, e.g. http://127.0.0.1:1234/api/ */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Every message posted, in order (top-level and thread replies). */
  readonly messages: StubMessage[];
  /** Scopes the token has; conversations.* need channels:history (or groups:history for G…). */
  readonly scopes: Set<string>;
  /** Channel ids that answer channel_not_found. */
  readonly missingChannels: Set<string>;
  /** Queues `fault` for the next `times` calls of `method`. */
  fail(method: string, fault: Fault, times?: number): void;
  /** Answers every call of every method with `fault` (before any queued one) until `failAll(undefined)`. */
  failAll(fault: Fault | undefined): void;
  /** Stops listening (connections refused) and drops open connections; messages are kept. */
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  restart(): Promise<void>;
  /** Top-level messages of a channel (thread replies excluded). */
  roots(channel?: string): StubMessage[];
  replies(threadTs: string): StubMessage[];
  close(): Promise<void>;
}

const LIMITS = { blocks: 50, sectionText: 3_000, headerText: 150, fields: 10, fieldText: 2_000, contextElements: 10 };

/** Why Slack would refuse these blocks, or undefined when they are valid. */
export function blockProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks is not an array';
  if (blocks.length > LIMITS.blocks) return `${blocks.length} blocks (max ${LIMITS.blocks})`;
  for (const [index, block] of blocks.entries()) {
    const b = block as { type?: unknown; text?: { type?: unknown; text?: unknown }; fields?: unknown; elements?: unknown };
    const textOf = (object: unknown) => (object as { text?: unknown } | undefined)?.text;
    switch (b.type) {
      case 'header':
        if (b.text?.type !== 'plain_text' || typeof b.text.text !== 'string' || b.text.text.length === 0 || b.text.text.length > LIMITS.headerText) {
          return `block ${index}: header text must be plain_text of 1..150 characters`;
        }
        break;
      case 'section': {
        if (!b.text && !b.fields) return `block ${index}: section needs text or fields`;
        if (b.text !== undefined) {
          const text = textOf(b.text);
          if (typeof text !== 'string' || text.length === 0 || text.length > LIMITS.sectionText) return `block ${index}: section text must be 1..3000 characters`;
        }
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields) || b.fields.length > LIMITS.fields) return `block ${index}: at most 10 fields`;
          for (const field of b.fields) {
            const text = textOf(field);
            if (typeof text !== 'string' || text.length === 0 || text.length > LIMITS.fieldText) return `block ${index}: field text must be 1..2000 characters`;
          }
        }
        break;
      }
      case 'context':
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > LIMITS.contextElements) return `block ${index}: context needs 1..10 elements`;
        for (const element of b.elements) {
          const text = textOf(element);
          if (typeof text !== 'string' || text.length === 0 || text.length > LIMITS.sectionText) return `block ${index}: context text must be 1..3000 characters`;
        }
        break;
      case 'divider':
        break;
      default:
        return `block ${index}: unknown type ${String(b.type)}`;
    }
  }
  return undefined;
}

function channelId(channel: string): string {
  return channel.startsWith('#') ? `C${channel.slice(1).toUpperCase().replace(/[^A-Z0-9]/g, '')}` : channel;
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export async function startSlackStub(options: { token: string }): Promise<SlackStub> {
  const requests: RecordedRequest[] = [];
  const messages: StubMessage[] = [];
  const scopes = new Set(['chat:write', 'channels:history', 'groups:history']);
  const missingChannels = new Set<string>();
  const faults = new Map<string, Fault[]>();
  let everyCall: Fault | undefined;
  let counter = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++counter).padStart(6, '0')}`;

  function handle(method: string, params: Record<string, unknown>): { status?: number; body: Record<string, unknown> } {
    const channel = typeof params.channel === 'string' ? params.channel : '';
    switch (method) {
      case 'auth.test':
        return { body: { ok: true, url: 'https://stub.slack.com/', team: 'stub', user: 'tokenwatch', team_id: 'T0STUB', user_id: 'U0STUB', bot_id: 'B0STUB' } };
      case 'chat.postMessage': {
        const id = channelId(channel);
        if (!channel || missingChannels.has(id)) return { body: { ok: false, error: 'channel_not_found' } };
        const blocks = parseJson(params.blocks ?? '[]');
        const text = typeof params.text === 'string' ? params.text : '';
        if (!text && (!Array.isArray(blocks) || blocks.length === 0)) return { body: { ok: false, error: 'no_text' } };
        if (blockProblem(blocks)) return { body: { ok: false, error: 'invalid_blocks', errors: [blockProblem(blocks)] } };
        const threadTs = typeof params.thread_ts === 'string' && params.thread_ts ? params.thread_ts : undefined;
        if (threadTs && !messages.some((m) => m.channel === id && m.ts === threadTs)) return { body: { ok: false, error: 'thread_not_found' } };
        const metadata = parseJson(params.metadata) as StubMessage['metadata'];
        const message: StubMessage = {
          channel: id,
          ts: nextTs(),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          text,
          blocks: blocks as unknown[],
          ...(metadata ? { metadata } : {}),
          updates: [],
        };
        messages.push(message);
        return { body: { ok: true, channel: id, ts: message.ts, message: { text, ts: message.ts } } };
      }
      case 'chat.update': {
        const message = messages.find((m) => m.channel === channel && m.ts === params.ts);
        if (!message) return { body: { ok: false, error: missingChannels.has(channel) || channel.startsWith('#') ? 'channel_not_found' : 'message_not_found' } };
        const blocks = parseJson(params.blocks ?? '[]');
        if (blockProblem(blocks)) return { body: { ok: false, error: 'invalid_blocks', errors: [blockProblem(blocks)] } };
        message.text = typeof params.text === 'string' ? params.text : message.text;
        message.blocks = blocks as unknown[];
        message.updates.push({ text: message.text, blocks: message.blocks, at: Date.now() });
        return { body: { ok: true, channel, ts: message.ts, text: message.text } };
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const scope = channel.startsWith('G') ? 'groups:history' : 'channels:history';
        if (!scopes.has(scope)) return { body: { ok: false, error: 'missing_scope', needed: scope, provided: [...scopes].join(',') } };
        if (!/^[CGD][A-Z0-9]+$/.test(channel) || missingChannels.has(channel)) return { body: { ok: false, error: 'channel_not_found' } };
        const withMetadata = params.include_all_metadata === true || params.include_all_metadata === 'true';
        const oldest = Number(params.oldest ?? 0);
        const limit = Math.min(Number(params.limit ?? 100), 1000);
        const offset = Number(params.cursor ?? 0);
        const found =
          method === 'conversations.history'
            ? messages.filter((m) => m.channel === channel && !m.thread_ts && Number(m.ts) > oldest).reverse()
            : messages.filter((m) => m.channel === channel && (m.ts === params.ts || m.thread_ts === params.ts));
        if (method === 'conversations.replies' && found.length === 0) return { body: { ok: false, error: 'thread_not_found' } };
        const page = found.slice(offset, offset + limit);
        const more = offset + limit < found.length;
        return {
          body: {
            ok: true,
            messages: page.map((m) => ({ type: 'message', ts: m.ts, text: m.text, ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}), ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}) })),
            has_more: more,
            ...(more ? { response_metadata: { next_cursor: String(offset + limit) } } : {}),
          },
        };
      }
      default:
        return { status: 404, body: { ok: false, error: 'unknown_method' } };
    }
  }

  async function onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const method = (request.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const contentType = request.headers['content-type'] ?? '';
    const params: Record<string, unknown> = contentType.includes('application/json')
      ? (JSON.parse(body || '{}') as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(body));
    const fault = everyCall ?? faults.get(method)?.shift();
    requests.push({ method, authorization: request.headers.authorization, headers: { ...request.headers }, body, params, at: Date.now(), ...(fault ? { fault: fault.kind } : {}) });
    const send = (status: number, payload: Record<string, unknown>, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(payload));
    };
    if (request.headers.authorization !== `Bearer ${options.token}`) return send(200, { ok: false, error: 'invalid_auth' });
    if (fault?.kind === 'ratelimit') return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfterSeconds) });
    if (fault?.kind === 'status') {
      response.writeHead(fault.status, { 'content-type': 'text/html' });
      response.end('<html>upstream error</html>');
      return;
    }
    if (fault?.kind === 'error') return send(200, { ok: false, error: fault.error });
    const result = handle(method, params);
    if (fault?.kind === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (!response.destroyed) send(result.status ?? 200, result.body);
  }

  const server: Server = createServer((request, response) => {
    onRequest(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve()); // also when already stopped
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api/`,
    requests,
    messages,
    scopes,
    missingChannels,
    fail(method, fault, times = 1) {
      faults.set(method, [...(faults.get(method) ?? []), ...Array.from({ length: times }, () => fault)]);
    },
    failAll(fault) {
      everyCall = fault;
    },
    stop,
    restart: () => listen(port),
    roots: (channel) => messages.filter((m) => !m.thread_ts && (channel === undefined || m.channel === channel)),
    replies: (threadTs) => messages.filter((m) => m.thread_ts === threadTs),
    close: stop,
  };
}
