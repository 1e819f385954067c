import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createApp, CreateAppOptions } from '../../src/app.factory';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { openApiDocument } from '../../src/openapi/openapi';
import { AppConfig } from '../../src/config/app-config';
import { testConfig } from './config';
import { AnswerCheck, answerChecker, OpenApiDocument } from '../../bench/openapi-check';
import { createTestDatabase, sql } from './db';
import { setByHook } from './hooks';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
/** The audit key of test apps (docs/audit.md): MACs on seals, Ed25519 checkpoints. */
export const AUDIT_KEY = 'test-audit-seal-key-0123456789abcdef';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  databaseUrl: string;
  ds: DataSource;
  config: AppConfig;
  api: (method: string, path: string, opts?: ApiOptions) => Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience
  text: string;
}

/** The real app on a real database from the migrations, over real HTTP on a free port. */
/** `appOptions` overrides the quiet logger (e.g. a log test passes a stream and a level). */
export async function startTestApp(
  env: Record<string, string> = {},
  databaseUrl?: string,
  appOptions: CreateAppOptions = {},
): Promise<TestApp> {
  const db = databaseUrl ? null : await createTestDatabase();
  const url = databaseUrl ?? db!.url;
  // Each app keeps its local state (the checkpoint file, the public key) in a folder of its own.
  const dataDir = env.DATA_DIR ? null : mkdtempSync(path.join(tmpdir(), 'card-ledger-app-'));
  const config = testConfig({
    ADMIN_API_KEY: ADMIN_KEY,
    AUDIT_SEAL_KEY: AUDIT_KEY,
    ...(dataDir ? { DATA_DIR: dataDir } : {}),
    ...env,
  });
  const app = await createApp(config, url, { logger: ['error'], ...appOptions });
  await app.get(ApiKeysService).installBootstrapKey(ADMIN_KEY);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  // Every answer the suite gets through `api` is checked against the app's own OpenAPI document: a status it does
  // not declare, or a body that does not match the declared schema, fails the test that got it.
  // The document object itself, not GET /docs-json, which would count against rate limits the tests measure.
  let check: AnswerCheck | null = null;
  const documented = () => (check ??= answerChecker(structuredClone(openApiDocument(app)) as unknown as OpenApiDocument));
  const api = async (method: string, path: string, opts: ApiOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const key = opts.key === undefined ? ADMIN_KEY : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${base}${path}`, { method, headers, body });
    const text = await res.text();
    const problem = documented()({ method, url: path, status: res.status, contentType: res.headers.get('content-type'), text });
    if (problem) throw new Error(`the answer does not match the OpenAPI document: ${problem}`);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    app,
    url: base,
    databaseUrl: url,
    ds: app.get(DataSource),
    config,
    api,
    close: async () => {
      await app.close();
      await db?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** How `useTestApp` starts its app: `startTestApp(env)` by default, or `start` (e.g. `() => startSyncApp(sim)`). */
export type UseTestAppOptions = (
  { env?: Record<string, string>; start?: undefined } | { start: () => Promise<TestApp>; env?: undefined }
) & {
  /** Also open a pg Client on the app's database (`db`); default true. */
  db?: boolean;
};

/** What `useTestApp` returns: read these inside tests and hooks, once its beforeAll has run. */
export interface TestAppContext {
  readonly app: TestApp;
  readonly db: Client;
}

/**
 * Registers, in the enclosing describe (or file), a beforeAll that starts the app on a fresh database and opens a
 * pg Client on it, and an afterAll that closes the Client, then the app. Hooks registered after this call run after
 * these (Jest runs beforeAll and afterAll hooks in the order they are declared).
 */
export function useTestApp(options: UseTestAppOptions = {}): TestAppContext {
  const withDb = options.db ?? true;
  let app: TestApp | undefined;
  let db: Client | undefined;
  beforeAll(async () => {
    app = options.start ? await options.start() : await startTestApp(options.env);
    if (withDb) db = await sql(app.databaseUrl);
  });
  afterAll(async () => {
    await db?.end();
    db = undefined;
    await app?.close();
    app = undefined;
  });
  return {
    get app(): TestApp {
      return setByHook(app, 'useTestApp', 'app', 'app');
    },
    get db(): Client {
      if (!withDb) throw new Error('useTestApp: this file asked for no Client ({ db: false })');
      return setByHook(db, 'useTestApp', 'Client', 'db');
    },
  };
}
