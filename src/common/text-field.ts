import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** Required text a person writes (a key's name, a reason, a description): at most `maxLength` characters, not blank. */
export const NonBlankText = (maxLength: number, doc: { example: string; description?: string }) =>
  applyDecorators(ApiProperty({ maxLength, ...doc }), IsString(), MaxLength(maxLength), Matches(/\S/, { message: 'must not be empty' }));
