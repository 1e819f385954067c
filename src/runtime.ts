import type { Logger } from 'pino';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { serviceStarted } from './audit-trail/audit-trail';
import { AuditTrail } from './audit-trail/audit-trail.service';
import { createApp, CreateAppOptions } from './app.factory';
import { ROLES } from './app.module';
import { ApiKeysService } from './auth/api-keys.service';
import { AppConfig } from './config/app-config';
import { runMigrations } from './database/data-source';
import { describeUrl, urlPassword } from './database/connection-url';
import type { EmbeddedDatabase } from './database/embedded-postgres';
import { prepareAppRole } from './database/embedded-roles';
import { createRootLogger, levelFromNest } from './logging/logging';

export interface Runtime {
  app: NestFastifyApplication;
  config: AppConfig;
  databaseUrl: string;
  url: string;
  /** Printed once: the admin key generated at this start when none was configured (embedded mode only). */
  generatedAdminKey: string | null;
  close(): Promise<void>;
}

/**
 * Everything `npm start` does, in order: the database (embedded unless DATABASE_URL), migrations,
 * the EnKash side (the in-process simulator unless ENKASH_BASE_URL), the app, the bootstrap key, the listener.
 * close() undoes it in reverse, so the database stops last, after every request and job has drained.
 */
export async function startRuntime(given: AppConfig, opts: CreateAppOptions = {}): Promise<Runtime> {
  // The app's own logger exists only once the app does; these lines come before it, in the same JSON shape.
  const logger = createRootLogger({
    level: opts.logger === undefined ? given.logLevel : levelFromNest(opts.logger),
    secrets: [
      given.enkash.clientSecret,
      given.enkash.password,
      given.adminApiKey,
      urlPassword(given.databaseUrl),
      urlPassword(given.readReplica.url),
    ],
  }).child({ context: 'runtime' });
  let config = given;
  let embedded: EmbeddedDatabase | null = null;
  const closers: Array<() => Promise<void>> = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === null) {
      // Loaded only here: production sets DATABASE_URL, and its image has no Postgres binaries (optionalDependencies).
      const { startEmbeddedPostgres } = await import('./database/embedded-postgres');
      embedded = await startEmbeddedPostgres(config.dataDir, (m) => logger.warn(m));
      closers.push(() => embedded!.stop());
      databaseUrl = embedded.url;
      logger.warn(`DATABASE_URL is not set: using an embedded PostgreSQL in ${config.dataDir} on 127.0.0.1:${embedded.port}`);
    }
    await runMigrations(databaseUrl);
    // Embedded: migrations as the superuser, the app as a role that cannot bypass the ledger's triggers.
    if (embedded) databaseUrl = await prepareAppRole(databaseUrl, config.dataDir);
    const enkash = await startEnKashSide(config, logger);
    if (enkash.close) closers.push(enkash.close);
    config = enkash.config;
    const app = await createApp(config, databaseUrl, opts);
    closers.push(() => app.close());
    const generatedAdminKey =
      config.adminApiKey !== null || embedded !== null ? await app.get(ApiKeysService).installBootstrapKey(config.adminApiKey) : null;
    // Where this process sends money and how, in the audit trail (never a secret: hosts, not URLs with credentials).
    await app.get(DataSource).transaction((m) =>
      app.get(AuditTrail).record(
        m,
        serviceStarted({
          role: config.role,
          enkash: given.enkash.baseUrl === null ? 'in-process simulator' : new URL(given.enkash.baseUrl).host,
          encryption: config.enkash.encryption ? 'on' : 'off',
          database: embedded ? `embedded at 127.0.0.1:${embedded.port}` : describeUrl(databaseUrl),
          forkPolicy: config.forkPolicy,
          host: hostname(),
          pid: process.pid,
        }),
      ),
    );
    await app.listen({ port: config.port, host: config.host });
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    return {
      app,
      config,
      databaseUrl,
      url,
      generatedAdminKey,
      close: async () => {
        for (const close of closers.reverse()) await close().catch((e: unknown) => logger.error(String(e)));
      },
    };
  } catch (e) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw e;
  }
}

/**
 * With no ENKASH_BASE_URL the service meets the EnKash simulator, started in-process on a free port with
 * the same credentials the client uses, and says so loudly: no real money can move in this mode.
 */
async function startEnKashSide(config: AppConfig, logger: Logger): Promise<{ config: AppConfig; close: (() => Promise<void>) | null }> {
  if (config.enkash.baseUrl !== null || !ROLES[config.role].worker) return { config, close: null };
  // Loaded only here: the production image is built without the simulator (Dockerfile, WITH_SIMULATOR).
  const { startEnKashSimulator } = await import('./enkash-simulator/simulator');
  const sim = await startEnKashSimulator({ port: 0, encryption: config.enkash.encryption, credentials: { ...config.enkash } });
  logger.warn(`ENKASH_BASE_URL is not set: loads go to the in-process EnKash SIMULATOR at ${sim.url} (no real money moves)`);
  return {
    config: { ...config, enkash: { ...config.enkash, baseUrl: sim.url, tokenUrl: `${sim.url}/oauth/token` } },
    close: () => sim.close(),
  };
}
