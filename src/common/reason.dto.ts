import { NonBlankText } from './text-field';

/** The body of an operator action that must say why (undo a load, adopt a restored database): kept in the record. */
export class ReasonDto {
  @NonBlankText(1000, { example: 'EnKash reversed the credit (ticket 4712)', description: "Kept in the load's events." })
  reason: string;
}
