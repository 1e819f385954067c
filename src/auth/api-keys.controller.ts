import { Body, Controller, Delete, Get, Param, Post, Req } from '@nestjs/common';
import { ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMinSize, ArrayUnique, IsArray, IsIn } from 'class-validator';
import { DocCreateApiKey, DocListApiKeys, DocRevokeApiKey } from './api-keys.openapi';
import { notFound } from '../common/errors';
import { NonBlankText } from '../common/text-field';
import { UUID } from '../common/paging';
import { actorOfCaller } from '../audit-trail/audit-trail';
import type { AuthedRequest } from './api-key.guard';
import { ApiKeysService } from './api-keys.service';
import { RequireScopes, Scope, SCOPES } from './scopes';

export class CreateApiKeyDto {
  @NonBlankText(100, { example: 'billing-prod', description: 'Who holds the key; shown in events of decisions made with it.' })
  name: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['loads:write'], description: 'At least one; `admin` implies all.' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes: Scope[];
}

/** Admin-only key management; the key itself is in the creation reply and nowhere else, ever. */
@ApiTags('api keys')
@Controller('v1/api-keys')
@RequireScopes('admin')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @DocCreateApiKey(CreateApiKeyDto)
  create(@Req() req: AuthedRequest, @Body() body: CreateApiKeyDto) {
    return this.keys.create(body.name.trim(), body.scopes, actorOfCaller(req.caller!, String(req.id)));
  }

  @Get()
  @DocListApiKeys()
  async list() {
    return { data: await this.keys.list(), nextCursor: null };
  }

  @Delete(':id')
  @DocRevokeApiKey()
  revoke(@Req() req: AuthedRequest, @Param('id') id: string) {
    if (!UUID.test(id)) throw notFound(`api key ${id}`);
    return this.keys.revoke(id, actorOfCaller(req.caller!, String(req.id)));
  }
}
