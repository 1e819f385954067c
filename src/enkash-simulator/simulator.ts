import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Socket } from 'node:net';
import { registerAdminRoutes } from './simulator-admin';
import { ActiveFault, Answer, SimRequest, SimulatorState } from './simulator-state';
import { SimEndpoint, SimulatorConfigPatch, SimulatorCredentials } from './simulator-config';
import { SimulatorCipher } from './simulator-crypto';
import { SIMULATOR_DEFAULTS } from '../config/app-config';
import { isJsonObject, Json, parseLiteralJson, stringifyJson } from './simulator-json';

export { SimulatorState } from './simulator-state';

/**
 * A faithful EnKash on one port: the token endpoint, the four card endpoints, and /__admin to steer it
 * (README in simulator-admin.ts). Plain Fastify, no Nest: it must start in a test in milliseconds and must
 * not share anything with the service it plays against.
 */
export interface SimulatorOptions extends SimulatorConfigPatch {
  /** 0 = any free port (tests). Default 4010. */
  port?: number;
  host?: string;
  credentials?: Partial<SimulatorCredentials>;
  /** One line per request, for the CLI. */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  url: string;
  port: number;
  state: SimulatorState;
  close(): Promise<void>;
}

const CARD_API = '/api/v0/partner/enKashCard';

/** The settings that point a service at a simulator with the simulator's default credentials (tests, bench, soak). */
export function simulatorClientEnv(url: string): Record<string, string> {
  return {
    ENKASH_BASE_URL: url,
    ENKASH_TOKEN_URL: `${url}/oauth/token`,
    ENKASH_PARTNER_ID: SIMULATOR_DEFAULTS.partnerId,
    ENKASH_CLIENT_ID: SIMULATOR_DEFAULTS.clientId,
    ENKASH_CLIENT_SECRET: SIMULATOR_DEFAULTS.clientSecret,
    ENKASH_USERNAME: SIMULATOR_DEFAULTS.username,
    ENKASH_PASSWORD: SIMULATOR_DEFAULTS.password,
    ENKASH_COMPANY_ID: SIMULATOR_DEFAULTS.companyId,
    ENKASH_CARD_ACCOUNT_ID: SIMULATOR_DEFAULTS.cardAccountId,
  };
}

/**
 * An EnKash that is configured but never answers (the discard port): for a ROLE=api instance that must not call it
 * (the bench, tests of intake), with the client registered as in production.
 */
export const UNREACHABLE_ENKASH_ENV: Readonly<Record<string, string>> = simulatorClientEnv('http://127.0.0.1:9');

export async function startEnKashSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const { port = 4010, host = '127.0.0.1', credentials, log, ...config } = options;
  const state = new SimulatorState(config, credentials);
  const cipher = new SimulatorCipher(state.credentials.clientSecret);
  // Everything that could outlive close(): held sockets and pending timers (latency, hangs).
  const timers = new Map<NodeJS.Timeout, () => void>();
  const held = new Set<Socket>();
  const pause = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.set(t, resolve);
        });

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1_048_576 });
  installParsers(app);
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    void reply
      .code(err.statusCode && err.statusCode >= 400 ? err.statusCode : 500)
      .type('application/json')
      .send(JSON.stringify({ code: 1, message: err.message }));
  });
  if (log) app.addHook('onResponse', async (req, reply) => log(`${req.method} ${req.url} → ${reply.statusCode}`));

  const playFault = (f: ActiveFault, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    log?.(`fault ${f.fault} (applied: ${f.applied}) on ${req.url}`);
    const json = (status: number, body: Json) => reply.code(status).type('application/json').send(JSON.stringify(body));
    switch (f.fault) {
      case 'timeout-after-apply':
      case 'timeout-before-apply': {
        reply.hijack();
        const socket = req.raw.socket;
        held.add(socket);
        socket.once('close', () => held.delete(socket));
        void pause(f.hangMs).then(() => socket.destroy());
        return reply;
      }
      case 'reset':
      case 'reset-after-apply':
        reply.hijack();
        req.raw.socket.destroy();
        return reply;
      case 'http-500':
        return json(500, { timestamp: new Date().toISOString(), status: 500, error: 'Internal Server Error', path: req.url });
      case 'http-502':
        return json(502, { message: 'Bad Gateway' });
      case 'http-503':
        return json(503, { message: 'Service Unavailable' });
      case 'html-502':
        return reply
          .code(502)
          .type('text/html')
          .send(
            '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr>' +
              '<center>nginx</center></body></html>',
          );
      case 'http-429':
        return reply
          .header('Retry-After', '1')
          .code(429)
          .type('application/json')
          .send(JSON.stringify({ message: 'Too Many Requests' }));
      case 'no-code':
        return json(200, { message: 'OK' });
      case 'http-401':
        return json(401, { error: 'invalid_token', error_description: 'Access token expired' });
      case 'http-403':
        return json(403, { code: 1, message: 'Access denied' });
      case 'http-404':
        return json(404, { timestamp: new Date().toISOString(), status: 404, error: 'Not Found', path: req.url });
      // An encrypted envelope no key opens ("Encryption failed for response" seen from our side).
      case 'garbled-response':
        return json(200, { [state.config.encryptedResponseKey]: 'AAAA' });
    }
  };

  /** The envelope in the configured spelling, encrypted when encryption is on. */
  const render = (reply: FastifyReply, a: Answer): FastifyReply => {
    const cfg = state.config;
    const code = cfg.codeAsString ? String(a.code) : a.code;
    const env =
      cfg.envelope === 'code'
        ? { code, message: a.message, payload: a.payload, ...a.extra }
        : { response_code: code, response_message: a.message, payload: a.payload, ...a.extra };
    const text = stringifyJson(env);
    const body = cfg.encryption ? JSON.stringify({ [cfg.encryptedResponseKey]: cipher.seal(text) }) : text;
    return reply.code(a.httpStatus).type('application/json').send(body);
  };

  app.post('/oauth/token', async (req, reply) => {
    state.requestCounts.token += 1;
    await pause(state.config.latencyMs);
    const fault = state.takeFault('token', null);
    if (fault && !fault.applied) return playFault(fault, req, reply);
    const form = isJsonObject(req.body) ? req.body : {};
    const answer = state.login(req.headers.authorization, form);
    if (fault) return playFault(fault, req, reply);
    return reply.code(answer.httpStatus).type('application/json').send(JSON.stringify(answer.body));
  });

  /** A card API handler, counted in flight from its arrival until its answer (or fault) is given. */
  const card =
    (endpoint: Exclude<SimEndpoint, 'token'>, handle: (body: Json) => Answer) => async (req: FastifyRequest, reply: FastifyReply) => {
      state.cardCallsInFlight += 1;
      state.peakCardCallsInFlight = Math.max(state.peakCardCallsInFlight, state.cardCallsInFlight);
      try {
        return await answerCard(endpoint, handle, req, reply);
      } finally {
        state.cardCallsInFlight -= 1;
      }
    };

  const answerCard = async (
    endpoint: Exclude<SimEndpoint, 'token'>,
    handle: (body: Json) => Answer,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> => {
    const arrivedAtMs = Date.now();
    state.requestCounts[endpoint] += 1;
    // The request is in the log from its arrival, so a test can act while EnKash is still working on it.
    const ref = isJsonObject(req.body) ? (endpoint === 'balance' ? req.body.uniqueReferenceNumber : req.body.pgReferenceNumber) : undefined;
    const entry: SimRequest | null =
      typeof ref === 'string'
        ? { endpoint, arrivedAtMs, handledAtMs: null, fault: null, applied: false, httpStatus: null, code: null }
        : null;
    if (entry) state.logRequest(ref as string, entry);
    await pause(state.config.latencyMs);
    if (entry) entry.handledAtMs = Date.now();
    if (!state.isValidBearer(req.headers.authorization)) {
      return reply
        .code(401)
        .type('application/json')
        .send(JSON.stringify({ error: 'invalid_token', error_description: 'Invalid access token' }));
    }
    if (req.headers.partnerid !== state.credentials.partnerId) {
      return reply
        .code(403)
        .type('application/json')
        .send(JSON.stringify({ code: 1, message: 'Invalid partnerId' }));
    }
    let body: unknown = req.body;
    if (state.config.encryption) {
      const sealed = isJsonObject(body) && typeof body.request === 'string' ? cipher.open(body.request) : null;
      body = undefined;
      try {
        if (sealed !== null) body = parseLiteralJson(sealed);
      } catch {
        // Decrypted to something that is not JSON: as bad as a wrong key.
      }
      if (!isJsonObject(body))
        return reply
          .code(422)
          .type('application/json')
          .send(JSON.stringify({ code: 1, message: 'Invalid encrypted request' }));
    }
    if (!isJsonObject(body))
      return render(reply, { httpStatus: 400, code: 1, message: 'Request body must be a JSON object', payload: null });
    const inner = endpoint === 'balance' ? body.uniqueReferenceNumber : body.pgReferenceNumber;
    const reference = typeof inner === 'string' ? inner : null;
    // An encrypted request shows its reference only now.
    const seen =
      entry ??
      (reference !== null
        ? state.logRequest(reference, {
            endpoint,
            arrivedAtMs,
            handledAtMs: Date.now(),
            fault: null,
            applied: false,
            httpStatus: null,
            code: null,
          })
        : null);
    const fault = state.takeFault(endpoint, reference);
    if (seen) seen.fault = fault?.fault ?? null;
    if (fault && !fault.applied) return playFault(fault, req, reply);
    const before = reference === null ? 0 : state.appliedCount(reference);
    const answer = handle(body);
    if (seen) {
      seen.applied = reference !== null && state.appliedCount(reference) > before;
      if (!fault) Object.assign(seen, { httpStatus: answer.httpStatus, code: answer.code });
    }
    if (fault) return playFault(fault, req, reply);
    return render(reply, answer);
  };

  app.post(
    `${CARD_API}/balance`,
    card('balance', (b) => state.load(b)),
  );
  app.post(
    `${CARD_API}/transaction/all`,
    card('transaction/all', (b) => state.lookup(b)),
  );
  app.post(
    `${CARD_API}/cardAccount/get`,
    card('cardAccount/get', (b) => state.parentAccount(b)),
  );
  app.post(
    `${CARD_API}/search`,
    card('search', (b) => state.searchCard(b)),
  );
  registerAdminRoutes(app, state);

  await app.listen({ port, host });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    port: boundPort,
    state,
    close: () => {
      closing ??= (async () => {
        for (const [t, resolve] of timers) {
          clearTimeout(t);
          resolve();
        }
        timers.clear();
        for (const s of held) s.destroy();
        await app.close();
      })();
      return closing;
    },
  };
}

/** JSON keeps number literals (see simulator-json.ts); the token endpoint takes a form. */
function installParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const malformed = (message: string) => Object.assign(new Error(message), { statusCode: 400 });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseLiteralJson(text));
    } catch {
      done(malformed('Malformed JSON request'));
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
  });
}
