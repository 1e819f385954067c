import { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { AppModule } from './app.module';
import { ApiExceptionFilter } from './common/http-exception.filter';
import { apiValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { BODY_LIMIT_BYTES, installJsonBodyParser } from './http/json-body';

export interface CreateAppOptions {
  logger?: LoggerService | LogLevel[] | false;
}

/** Builds the Nest application on Fastify; shared by main.ts and the test harness so both run the same app. */
export async function createApp(config: AppConfig, databaseUrl: string, opts: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(given) ? given : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, databaseUrl), adapter, {
    bodyParser: false,
    logger: opts.logger ?? ['error', 'warn', 'log'],
  });
  installJsonBodyParser(app.getHttpAdapter().getInstance());
  app.getHttpAdapter().getInstance().addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  app.useGlobalFilters(new ApiExceptionFilter());
  app.useGlobalPipes(apiValidationPipe);
  await app.init();
  return app;
}
