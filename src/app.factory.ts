import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { ApiExceptionFilter } from './common/http-exception.filter';
import { installConsole } from './console/console-assets';
import { apiValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { DatabaseOutage } from './database/database-outage';
import { closeConnectionsWhenClosing } from './http/graceful-close';
import { BODY_LIMIT_BYTES, installJsonBodyParser } from './http/json-body';
import { clientErrorHandler, frameworkErrors, installMethodNotAllowed, lingerWhenClosingEarly } from './http/protocol-errors';
import { recordRoutes, registeredRoutes } from './http/route-registry';
import { installHttpSecurity } from './http/security';
import { urlPassword } from './database/connection-url';
import { createRootLogger, levelFromNest } from './logging/logging';
import { setupOpenApi } from './openapi/openapi';

export interface CreateAppOptions {
  /** Nest-style levels, or false for none; the test harness passes ['error'] to keep test output clean. Default: LOG_LEVEL. */
  logger?: LogLevel[] | false;
  /** Where the JSON log lines go instead of stdout (tests read them back). */
  logStream?: DestinationStream;
}

/** Builds the Nest application on Fastify; shared by main.ts and the test harness so both run the same app. */
export async function createApp(config: AppConfig, databaseUrl: string, opts: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's own answers, in the API's error shape (http/protocol-errors.ts, http/graceful-close.ts).
    clientErrorHandler,
    frameworkErrors,
    return503OnClosing: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(given) ? given : randomUUID();
    },
  });
  recordRoutes(adapter.getInstance());
  installMethodNotAllowed(adapter.getInstance(), () => registeredRoutes(adapter.getInstance()));
  const rootLogger = createRootLogger({
    level: opts.logger === undefined ? config.logLevel : levelFromNest(opts.logger),
    stream: opts.logStream,
    secrets: [
      config.enkash.clientSecret,
      config.enkash.password,
      config.adminApiKey,
      urlPassword(databaseUrl),
      urlPassword(config.readReplica.url),
    ],
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, databaseUrl, rootLogger), adapter, {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  installJsonBodyParser(app.getHttpAdapter().getInstance());
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (req, reply) => {
      void reply.header('x-request-id', req.id);
    });
  closeConnectionsWhenClosing(app.getHttpAdapter().getInstance());
  lingerWhenClosingEarly(app.getHttpAdapter().getInstance());
  await installHttpSecurity(app, config.rateLimitPerMinute);
  await installConsole(app);
  app.useGlobalFilters(new ApiExceptionFilter(app.get(DatabaseOutage)));
  app.useGlobalPipes(apiValidationPipe);
  setupOpenApi(app);
  await app.init();
  return app;
}
