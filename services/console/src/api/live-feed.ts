import type { ServerResponse } from 'node:http';
import type { ClickHouseClient } from '@clickhouse/client';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { readAlertChanges } from './alerts.js';
import { SECURITY_HEADERS } from '../http/respond.js';

export interface LiveFeedOptions {
  readonly client: ClickHouseClient;
  readonly logger: Logger;
  /** How often the alerts table is asked what changed while someone watches. */
  readonly pollMs?: number;
  /** Open streams at most: each is a socket held open. */
  readonly maxStreams?: number;
  readonly now?: () => number;
}

const HEARTBEAT_MS = 15_000;

/**
 * The feed's server-sent events: one poller for all open pages (not one query per page), running
 * only while a page listens. Each event names the alerts that changed; the page re-reads its
 * feed, so an event never has to carry a whole alert.
 */
export class LiveFeed {
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private since: number;
  private polling = false;
  private readonly pollMs: number;
  private readonly maxStreams: number;
  private readonly now: () => number;

  constructor(private readonly options: LiveFeedOptions) {
    this.pollMs = options.pollMs ?? 2_000;
    this.maxStreams = options.maxStreams ?? 50;
    this.now = options.now ?? Date.now;
    this.since = this.now();
  }

  /** False when the limit of open streams is reached (the caller answers 503). */
  open(response: ServerResponse): boolean {
    if (this.streams.size >= this.maxStreams) return false;
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write(`retry: ${this.pollMs}\n: connected\n\n`);
    this.streams.add(response);
    response.on('close', () => {
      this.streams.delete(response);
      if (this.streams.size === 0) this.stopPolling();
    });
    if (!this.timer) {
      this.since = this.now();
      this.timer = setInterval(() => void this.poll(), this.pollMs);
    }
    return true;
  }

  close(): void {
    this.stopPolling();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  private lastHeartbeat = 0;

  private async poll(): Promise<void> {
    if (this.polling) return; // a slow query must not pile up behind itself
    this.polling = true;
    try {
      const changes = await readAlertChanges(this.options.client, this.since);
      const latest = changes.at(-1);
      if (latest) {
        this.since = latest.updated_at;
        this.broadcast(`event: alerts\ndata: ${JSON.stringify(changes)}\n\n`);
      } else if (this.now() - this.lastHeartbeat >= HEARTBEAT_MS) {
        // Proxies close idle connections; a comment line keeps the stream open.
        this.lastHeartbeat = this.now();
        this.broadcast(': heartbeat\n\n');
      }
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, 'console live feed: reading changed alerts failed; retrying');
    } finally {
      this.polling = false;
    }
  }

  private broadcast(text: string): void {
    for (const stream of this.streams) stream.write(text);
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
