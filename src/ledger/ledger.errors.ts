import { ApiError } from '../common/errors';

export class InsufficientFundsError extends ApiError {
  constructor(accountCode: string) {
    super('insufficient_funds', `account ${accountCode} has insufficient available balance`);
  }
}

/** The pending transfer was already posted or voided: the unique resolving row said so. */
export class AlreadyResolvedError extends ApiError {
  constructor(pendingId: string) {
    super('invalid_state', `pending transfer ${pendingId} is already resolved`);
  }
}

export class AlreadyUndoneError extends ApiError {
  constructor(id: string) {
    super('invalid_state', `transfer ${id} is already undone`);
  }
}

/**
 * The transfer's month is archived and its table is no longer in ledger_archive: its entries cannot be read, so it
 * cannot be undone here (docs/operations.md, "Partitions and archive": restore the month's table first).
 */
export class TransferArchivedError extends ApiError {
  constructor(id: string, table: string, archivedBefore: Date) {
    super(
      'invalid_state',
      `transfer ${id} is in a month archived before ${archivedBefore.toISOString()} whose table ${table} is not in the ` +
        'database: restore that table into ledger_archive to undo it',
    );
  }
}
