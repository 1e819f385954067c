import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { JournalController } from './journal.controller';
import { JournalService } from './journal.service';

@Module({ imports: [LedgerModule], controllers: [JournalController], providers: [JournalService] })
export class JournalModule {}
