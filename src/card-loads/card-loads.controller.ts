import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { badField } from '../common/errors';
import { CreateCardLoadDto, IDEMPOTENCY_KEY, ListCardLoadsQuery } from './card-load.dto';
import { CardLoadBatchService } from './card-load-batch';
import { DocCreateCardLoad, DocCreateCardLoadBatch, DocGetCardLoad, DocListCardLoads } from './card-load.openapi';
import { CardLoadsService } from './card-loads.service';
import { AuditorRead } from '../database/replica/auditor-read';

@ApiTags('card loads')
@Controller('v1/card-loads')
export class CardLoadsController {
  constructor(
    private readonly loads: CardLoadsService,
    private readonly batch: CardLoadBatchService,
  ) {}

  @Post()
  @RequireScopes('loads:write')
  @DocCreateCardLoad()
  async create(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: CreateCardLoadDto,
  ) {
    if (idempotencyKey === undefined || !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badField('Idempotency-Key', 'header is required: 1-255 characters of A-Za-z0-9_-.:');
    }
    const { load, replayed } = await this.loads.create(req.caller!, idempotencyKey, body, String(req.id));
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    void reply.status(replayed ? 200 : 201);
    return load;
  }

  /** Up to 1,000 loads, each with its own idempotency key; per-item results in request order. */
  @Post('batch')
  @HttpCode(200)
  @RequireScopes('loads:write')
  @DocCreateCardLoadBatch()
  createBatch(@Req() req: AuthedRequest, @Body() body: unknown) {
    return this.batch.create(req.caller!, body, String(req.id));
  }

  @Get()
  @RequireScopes('loads:write', 'ledger:read')
  @DocListCardLoads()
  @AuditorRead()
  list(@Req() req: AuthedRequest, @Query() query: ListCardLoadsQuery, @Headers('accept') accept?: string) {
    if (!wantsCsv(query.format, accept)) return this.loads.list(query, req.caller!);
    return answerList(this.loads.listing(query, req.caller!), true, 'card-loads.csv');
  }

  @Get(':id')
  @RequireScopes('loads:write', 'ledger:read')
  @DocGetCardLoad()
  get(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.loads.get(id, req.caller!);
  }
}
