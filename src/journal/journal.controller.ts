import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequireScopes } from '../auth/scopes';
import { IDEMPOTENCY_KEY } from '../card-loads/card-load.dto';
import { answerList, wantsCsv } from '../common/csv';
import { badField } from '../common/errors';
import { CreateJournalDto, ListJournalQuery } from './journal.dto';
import { DocGetJournal, DocListJournal, DocPostJournal } from './journal.openapi';
import { JournalService } from './journal.service';
import { AuditorRead } from '../database/replica/auditor-read';

@ApiTags('journal')
@Controller('v1/journal')
@RequireScopes('ledger:read')
export class JournalController {
  constructor(private readonly journal: JournalService) {}

  /** Idempotency-Key is optional here (operators post by hand), but a retried request with one never posts twice. */
  @Post()
  @RequireScopes('admin')
  @DocPostJournal()
  async post(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: CreateJournalDto,
  ) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badField('Idempotency-Key', 'must be 1-255 characters of A-Za-z0-9_-.:');
    }
    const { journal, replayed } = await this.journal.post(req.caller!, idempotencyKey, body);
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    void reply.status(replayed ? 200 : 201);
    return journal;
  }

  @Get()
  @DocListJournal()
  @AuditorRead()
  list(@Query() q: ListJournalQuery, @Headers('accept') accept?: string) {
    return answerList(this.journal.list(q), wantsCsv(q.format, accept), 'journal.csv');
  }

  /** Always the primary: a client polls the id its own POST just returned (read-your-write, docs/operations.md). */
  @Get(':id')
  @DocGetJournal()
  get(@Param('id') id: string) {
    return this.journal.get(id);
  }
}
