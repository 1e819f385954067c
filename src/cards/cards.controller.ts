import { Controller, Get, Headers, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { TimeRangeListQuery } from '../common/list-query';
import { CardBalanceQuery } from './card.dto';
import { DocCardBalance, DocCardHistory } from './card.openapi';
import { CardsService } from './cards.service';

@ApiTags('cards')
@Controller('v1/cards')
@RequireScopes('ledger:read')
export class CardsController {
  constructor(private readonly cards: CardsService) {}

  @Get(':enKashCardId/balance')
  @DocCardBalance()
  balance(@Param('enKashCardId') id: string, @Query() q: CardBalanceQuery) {
    return this.cards.balance(id, q.asOf);
  }

  @Get(':enKashCardId/history')
  @DocCardHistory()
  async history(@Param('enKashCardId') id: string, @Query() q: TimeRangeListQuery, @Headers('accept') accept?: string) {
    return answerList(await this.cards.history(id, q), wantsCsv(q.format, accept), `card-${id}-history.csv`);
  }
}
