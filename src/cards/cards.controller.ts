import { Controller, Get, Headers, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { CardBalanceQuery, CardHistoryQuery, CardSeriesQuery } from './card.dto';
import { DocCardBalance, DocCardBalanceSeries, DocCardHistory } from './card.openapi';
import { CardsService } from './cards.service';
import { AuditorRead } from '../database/replica/auditor-read';

@ApiTags('cards')
@Controller('v1/cards')
@RequireScopes('ledger:read')
export class CardsController {
  constructor(private readonly cards: CardsService) {}

  @Get(':enKashCardId/balance')
  @DocCardBalance()
  @AuditorRead({ immutableRows: true })
  balance(@Param('enKashCardId') id: string, @Query() q: CardBalanceQuery) {
    return this.cards.balance(id, q.asOf);
  }

  @Get(':enKashCardId/history')
  @DocCardHistory()
  @AuditorRead({ immutableRows: true })
  async history(@Param('enKashCardId') id: string, @Query() q: CardHistoryQuery, @Headers('accept') accept?: string) {
    return answerList(await this.cards.history(id, q), wantsCsv(q.format, accept), `card-${id}-history.csv`);
  }

  /** For charts: the balances over a window, downsampled here (M4), so a card of any history draws at once. */
  @Get(':enKashCardId/balance-series')
  @DocCardBalanceSeries()
  @AuditorRead({ immutableRows: true })
  series(@Param('enKashCardId') id: string, @Query() q: CardSeriesQuery) {
    return this.cards.series(id, q);
  }
}
