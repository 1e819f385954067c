import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { ApiKeysService } from './api-keys.service';
import { RequireScopes, Scope, SCOPES } from './scopes';

export class CreateApiKeyDto {
  @IsString() @MaxLength(100) @Matches(/\S/, { message: 'must not be empty' })
  name: string;

  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn(SCOPES as unknown as string[], { each: true })
  scopes: Scope[];
}

/** Admin-only key management; the key itself is in the creation reply and nowhere else, ever. */
@Controller('v1/api-keys')
@RequireScopes('admin')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  create(@Body() body: CreateApiKeyDto) {
    return this.keys.create(body.name.trim(), body.scopes);
  }

  @Get()
  async list() {
    return { data: await this.keys.list(), nextCursor: null };
  }

  @Delete(':id')
  revoke(@Param('id') id: string) {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return this.keys.revoke('00000000-0000-0000-0000-000000000000');
    return this.keys.revoke(id);
  }
}
