import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** The body of an operator action that must say why (undo a load, adopt a restored database): kept in the record. */
export class ReasonDto {
  @ApiProperty({ maxLength: 1000, example: 'EnKash reversed the credit (ticket 4712)', description: "Kept in the load's events." })
  @IsString()
  @MaxLength(1000)
  @Matches(/\S/, { message: 'must not be empty' })
  reason: string;
}
