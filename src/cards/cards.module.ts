import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { CardsController } from './cards.controller';
import { CardsService } from './cards.service';

@Module({ imports: [LedgerModule], controllers: [CardsController], providers: [CardsService] })
export class CardsModule {}
