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
