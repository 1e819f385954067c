import { Controller, Get, Param, Query } from '@nestjs/common';
import { RequireScopes } from '../auth/scopes';
import { CardsService } from './cards.service';

@Controller('v1/cards')
@RequireScopes('ledger:read')
export class CardsController {
  constructor(private readonly cards: CardsService) {}

  @Get(':enKashCardId/balance')
  balance(@Param('enKashCardId') id: string, @Query('asOf') asOf?: string) {
    return this.cards.balance(id, asOf);
  }

  @Get(':enKashCardId/history')
  history(@Param('enKashCardId') id: string, @Query() q: Record<string, string>) {
    return this.cards.history(id, q);
  }
}
