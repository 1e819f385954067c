import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { actorOfCaller } from '../audit-trail/audit-trail';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequireScopes } from '../auth/scopes';
import { ReasonDto } from '../common/reason.dto';
import { DatabaseIdentityService } from './database-identity.service';
import { DocAdoptDatabase, DocDatabaseIdentity } from './database.openapi';

/** Fork safety for operators: is this database the ledger's, and adopting it after a restore (docs/operations.md). */
@ApiTags('operations')
@Controller('v1/database')
export class DatabaseController {
  constructor(private readonly identity: DatabaseIdentityService) {}

  @Get('identity')
  @RequireScopes('ops:write', 'ledger:read')
  @DocDatabaseIdentity()
  status() {
    return this.identity.status();
  }

  @Post('adopt')
  @HttpCode(200)
  @RequireScopes('ops:write')
  @DocAdoptDatabase(ReasonDto)
  adopt(@Req() req: AuthedRequest, @Body() body: ReasonDto) {
    return this.identity.adopt(actorOfCaller(req.caller!, String(req.id)), body.reason);
  }
}
