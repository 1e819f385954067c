import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../auth/scopes';
import { notFound } from '../common/errors';
import { PageQuery } from '../common/list-query';
import { decodeCursor, encodeCursor, parseLimit } from '../common/paging';
import { AUDIT_KEYS, AuditKeys } from './audit-keys';
import { AuditVerifications } from './audit-verifications';
import { DocCheckpoints, DocLatestVerification, DocPublicKey, DocVerify } from './audit.openapi';

@ApiTags('audit')
@Controller('v1/audit')
@RequireScopes('ledger:read')
export class AuditController {
  constructor(
    private readonly verifications: AuditVerifications,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  @Get('verify')
  @DocVerify()
  verify() {
    return this.verifications.runNow();
  }

  @Get('verify/latest')
  @DocLatestVerification()
  async latest() {
    const r = await this.verifications.latest();
    if (!r) throw notFound('verification');
    return r;
  }

  @Get('checkpoints')
  @DocCheckpoints()
  async checkpoints(@Query() q: PageQuery) {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['integer']);
    const rows: Array<{ seq: string; document: string; signature: string }> = await this.ds.query(
      `SELECT seq, document, signature FROM audit_checkpoints WHERE ($1::bigint IS NULL OR seq < $1) ORDER BY seq DESC LIMIT $2`,
      [cursor?.[0] ?? null, limit + 1],
    );
    const page = rows.slice(0, limit).map((r) => ({ seq: Number(r.seq), document: r.document, signature: r.signature }));
    return { data: page, nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].seq]) : null };
  }

  @Get('public-key')
  @DocPublicKey()
  publicKey() {
    return { algorithm: 'Ed25519', keyId: this.keys.keyId, publicKey: this.keys.publicKeyPem };
  }
}
