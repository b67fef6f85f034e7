import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { errorMessage, QueryError } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import type { Registry } from '@tokenwatch/shared/metrics';
import { alertIdSchema, feedFilterSchema, readAlertDetail, readFeed, readStoredAlert } from './api/alerts.js';
import { actionBodySchema, type ReadPrecision, type TriageAction } from './api/actions.js';
import { clientKeySchema, readClientStory, type OwnerLookup } from './api/clients.js';
import { readHealth } from './api/health.js';
import { investigateRequestSchema, runForCsv, runForTable, type ReadOnlyQuery } from './api/investigate.js';
import { LiveFeed } from './api/live-feed.js';
import { readAlertPicture } from './api/pictures/read-picture.js';
import { RedeemedTokens, verifyLoginToken } from './auth/login-token.js';
import { IdpUnreachable, type OidcSignIn } from './auth/oidc.js';
import { csrfMatches, Sessions, type Session } from './auth/sessions.js';
import { BadRequest, cookieValue, readJsonBody, redirect, SECURITY_HEADERS, sendError, sendJson, sendPage } from './http/respond.js';
import { StaticFiles } from './http/static-files.js';

export interface ConsoleOptions {
  readonly client: ClickHouseClient;
  readonly logger: Logger;
  /** This process's metrics: the health page reads them. */
  readonly registry: Registry;
  /** `tokenwatch sql`'s guarded, bounded read-only path: the investigate page's only way to run SQL. */
  readonly readOnlyQuery: ReadOnlyQuery;
  /** Acknowledge, resolve, suppress, verdict: the detector's triage, as the signed-in user. */
  readonly triage: TriageAction;
  /** Precision per finding from the verdicts, for the precision page. */
  readonly readPrecision: ReadPrecision;
  /** The client inventory's entry of a client, for the client page. */
  readonly ownerOf: OwnerLookup;
  /** The error codes invalid_client_burst counts (the detector's config), for its picture. */
  readonly burstFailureCodes: readonly string[];
  /** Signs login links (auth/console-key.ts). */
  readonly key: Buffer;
  /** Sign-in through the team's IdP (OpenID Connect), when configured. */
  readonly oidc?: OidcSignIn | undefined;
  readonly sessions?: Sessions;
  readonly staticFiles?: StaticFiles;
  readonly now?: () => number;
}

/** Serves the console on the ops server: page paths, /assets/ and /api/. */
export interface ConsoleApp {
  /** Answers the request; the ops server calls it for every path that is not its own. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  close(): void;
}

const SESSION_COOKIE = 'tokenwatch_session';
/**
 * Binds an IdP sign-in to the browser that started it (against login CSRF: a callback link made
 * from someone else's sign-in is refused). SameSite=Lax, not Strict: the IdP's redirect back is
 * a cross-site navigation, which a Strict cookie would not ride on. It grants nothing by itself.
 */
const OIDC_STATE_COOKIE = 'tokenwatch_oidc_state';
const loginBody = z.strictObject({ token: z.string().min(1).max(512) });

/**
 * The console's HTTP side. Without a session every /api/ path answers 401 and the page shows
 * how to sign in; a session is an HttpOnly, SameSite=Strict cookie; every request that changes
 * something carries the session's CSRF token in X-CSRF-Token and, when the browser sends an
 * Origin, comes from this origin.
 */
export function createConsoleApp(options: ConsoleOptions): ConsoleApp {
  const { client, logger, key } = options;
  const now = options.now ?? Date.now;
  const sessions = options.sessions ?? new Sessions();
  const files = options.staticFiles ?? new StaticFiles();
  const redeemed = new RedeemedTokens();
  const live = new LiveFeed({ client, logger, now });

  function sessionOf(request: IncomingMessage): Session | undefined {
    return sessions.get(cookieValue(request, SESSION_COOKIE), now());
  }

  function sameOrigin(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true; // not a browser, or a same-origin GET
    const scheme = (request.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    return origin === `${scheme}://${request.headers.host ?? ''}`;
  }

  function isSecure(request: IncomingMessage): boolean {
    return Boolean((request.socket as { encrypted?: boolean }).encrypted);
  }

  function sessionCookie(session: Session, secure: boolean): string {
    return `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400${secure ? '; Secure' : ''}`;
  }

  async function oidcLogin(response: ServerResponse, oidc: OidcSignIn): Promise<void> {
    try {
      const { url, state } = await oidc.begin(now());
      const secure = oidc.secure ? '; Secure' : '';
      return redirect(response, url.href, { 'set-cookie': `${OIDC_STATE_COOKIE}=${state}; HttpOnly; SameSite=Lax; Path=/api/oidc/; Max-Age=600${secure}` });
    } catch (error) {
      if (!(error instanceof IdpUnreachable)) throw error;
      logger.warn({ err: error.message }, 'console: the IdP did not answer');
      return sendPage(response, 502, 'sign-in unavailable', `${error.message}. A one-time link still works: run \`tokenwatch console --user <you>\`.`);
    }
  }

  async function oidcCallback(request: IncomingMessage, response: ServerResponse, url: URL, oidc: OidcSignIn): Promise<void> {
    const clearState = `${OIDC_STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=/api/oidc/; Max-Age=0`;
    const result = await oidc.finish(url.searchParams, cookieValue(request, OIDC_STATE_COOKIE), now());
    if (!result.ok) {
      logger.warn({ reason: result.reason }, 'console: an IdP sign-in was refused');
      return sendPage(response, result.status, 'sign-in failed', result.reason, { 'set-cookie': clearState });
    }
    const session = sessions.create(result.user, now());
    return redirect(response, '/', { 'set-cookie': [clearState, sessionCookie(session, oidc.secure || isSecure(request))] });
  }

  async function login(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!sameOrigin(request)) return sendError(response, 403, 'cross-origin sign-in refused');
    const body = loginBody.safeParse(await readJsonBody(request));
    if (!body.success) return sendError(response, 400, 'expected {"token": "<the token of a tokenwatch console link>"}');
    const check = verifyLoginToken(key, body.data.token, now());
    if (!check.ok) {
      logger.warn({ reason: check.reason }, 'console: a login link was refused');
      return sendError(response, 401, `this login link does not work (${check.reason}): run \`tokenwatch console --user <you>\` for a new one`);
    }
    if (!redeemed.redeem(check.id, check.expires, now())) {
      logger.warn({ user: check.user }, 'console: a login link was used twice');
      return sendError(response, 401, 'this login link was already used: run `tokenwatch console --user <you>` for a new one');
    }
    const session = sessions.create(check.user, now());
    logger.info({ user: check.user }, 'console: signed in');
    sendJson(response, 200, { user: session.user, csrf: session.csrf }, { 'set-cookie': sessionCookie(session, isSecure(request)) });
  }

  async function api(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = request.method ?? 'GET';
    if (path === '/api/login' && method === 'POST') return login(request, response);
    // What the sign-in page offers besides the one-time link.
    if (path === '/api/sign-in-methods' && method === 'GET') return sendJson(response, 200, { idp: options.oidc ? options.oidc.issuerHost : null });
    if ((path === '/api/oidc/login' || path === '/api/oidc/callback') && method === 'GET') {
      if (!options.oidc) return sendError(response, 404, 'sign-in through an IdP is not configured (TOKENWATCH_CONSOLE_OIDC_ISSUER)');
      return path === '/api/oidc/login' ? oidcLogin(response, options.oidc) : oidcCallback(request, response, url, options.oidc);
    }

    const session = sessionOf(request);
    if (!session) return sendError(response, 401, 'sign in first: run `tokenwatch console --user <you>` and open the link it prints');
    if (method !== 'GET' && method !== 'HEAD') {
      if (!sameOrigin(request)) return sendError(response, 403, 'cross-origin request refused');
      const header = request.headers['x-csrf-token'];
      if (!csrfMatches(session, typeof header === 'string' ? header : undefined)) return sendError(response, 403, 'missing or wrong CSRF token: reload the page');
    }

    if (path === '/api/session' && method === 'GET') return sendJson(response, 200, { user: session.user, csrf: session.csrf });
    if (path === '/api/logout' && method === 'POST') {
      sessions.end(session.id);
      return sendJson(response, 200, { ok: true }, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
    }
    if (path === '/api/alerts' && method === 'GET') {
      const filter = feedFilterSchema.safeParse(Object.fromEntries(url.searchParams));
      if (!filter.success) return sendError(response, 400, `bad filter: ${filter.error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`).join('; ')}`);
      return sendJson(response, 200, await readFeed(client, filter.data));
    }
    if ((path === '/api/sql' || path === '/api/sql.csv') && method === 'POST') {
      const body = investigateRequestSchema.safeParse(await readJsonBody(request));
      if (!body.success) return sendError(response, 400, `bad query request: ${body.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
      logger.info({ user: session.user, chars: body.data.query.length }, 'console: investigate query');
      try {
        if (path === '/api/sql') return sendJson(response, 200, await runForTable(options.readOnlyQuery, body.data));
        const csv = await runForCsv(options.readOnlyQuery, body.data);
        response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="tokenwatch-query.csv"', 'cache-control': 'no-store' });
        csv.on('error', () => response.destroy());
        csv.pipe(response);
        return;
      } catch (error) {
        // The guard's refusals and ClickHouse's errors are the investigator's to read and fix.
        if (error instanceof QueryError) return sendError(response, 422, error.message);
        throw error;
      }
    }
    if (path === '/api/client' && method === 'GET') {
      const key = clientKeySchema.safeParse(Object.fromEntries(url.searchParams));
      if (!key.success) return sendError(response, 400, 'expected ?tenant=<tenant>&client=<client id>');
      const story = await readClientStory(client, key.data.tenant, key.data.client, options.ownerOf, now());
      return story ? sendJson(response, 200, story) : sendError(response, 404, `the logs never showed client ${key.data.client} in ${key.data.tenant}`);
    }
    if (path === '/api/health' && method === 'GET') return sendJson(response, 200, await readHealth(options.registry, now()));
    if (path === '/api/alerts/stream' && method === 'GET') {
      if (!live.open(response)) sendError(response, 503, 'too many open live feeds: close some console tabs');
      return;
    }
    if (path === '/api/precision' && method === 'GET') {
      const days = z.coerce.number().int().min(1).max(3_650).default(90).safeParse(url.searchParams.get('days') ?? undefined);
      if (!days.success) return sendError(response, 400, 'expected ?days=<1 to 3650>');
      return sendJson(response, 200, { days: days.data, findings: await options.readPrecision(now() - days.data * 86_400_000) });
    }
    const actionPath = /^\/api\/alerts\/([0-9a-f]{32})\/actions$/.exec(path);
    if (actionPath && method === 'POST') {
      const body = actionBodySchema.safeParse(await readJsonBody(request));
      if (!body.success) return sendError(response, 400, `bad action: ${body.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
      try {
        const result = await options.triage({ ...body.data, alert_id: actionPath[1] as string, actor: session.user });
        logger.info({ user: session.user, action: body.data.action, alert_id: actionPath[1] }, 'console: alert action');
        return sendJson(response, 200, result);
      } catch (error) {
        // The triage rules' refusals (an unknown alert, an ack of a resolved one) are the user's to read.
        if (error instanceof QueryError) return sendError(response, 422, error.message);
        throw error;
      }
    }
    const picturePath = /^\/api\/alerts\/([^/]{1,64})\/picture$/.exec(path);
    if (picturePath && method === 'GET') {
      const id = alertIdSchema.safeParse(picturePath[1]);
      if (!id.success) return sendError(response, 400, 'expected an alert id (32 hex digits)');
      const alert = await readStoredAlert(client, id.data);
      if (!alert) return sendError(response, 404, `no alert ${id.data}`);
      return sendJson(response, 200, await readAlertPicture(client, alert, { burstFailureCodes: options.burstFailureCodes, now: now() }));
    }
    const alertPath = /^\/api\/alerts\/([^/]{1,64})$/.exec(path);
    if (alertPath && method === 'GET') {
      const id = alertIdSchema.safeParse(alertPath[1]);
      if (!id.success) return sendError(response, 400, 'expected an alert id (32 hex digits)');
      const detail = await readAlertDetail(client, id.data);
      return detail ? sendJson(response, 200, detail) : sendError(response, 404, `no alert ${id.data}`);
    }
    return sendError(response, 404, `no such API: ${method} ${path}`);
  }

  return {
    async handle(request, response) {
      let url: URL;
      try {
        url = new URL(request.url ?? '/', 'http://console.invalid');
      } catch {
        return sendError(response, 400, 'bad request path');
      }
      try {
        if (url.pathname.startsWith('/api/')) return await api(request, response, url);
        if (request.method !== 'GET' && request.method !== 'HEAD') return sendError(response, 405, 'method not allowed');
        if (url.pathname.startsWith('/assets/')) {
          if (!(await files.asset(url.pathname.slice('/assets/'.length), response))) sendError(response, 404, 'no such file');
          return;
        }
        return await files.index(response);
      } catch (error) {
        if (error instanceof BadRequest) return sendError(response, error.status, error.message);
        logger.error({ path: url.pathname, err: errorMessage(error) }, 'console request failed');
        if (!response.headersSent) sendError(response, 500, 'internal error (see the tokenwatch log)');
        else response.end();
      }
    },
    close() {
      live.close();
    },
  };
}
