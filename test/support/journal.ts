import { ApiResponse, TestApp } from './app';

/** POST /v1/journal with two entries: `amount` debited to `debit` and credited to `credit`. The answer as it came. */
export function postTransfer(t: TestApp, description: string, debit: string, credit: string, amount: string): Promise<ApiResponse> {
  return t.api('POST', '/v1/journal', {
    body: {
      description,
      entries: [
        { accountCode: debit, direction: 'debit', amount },
        { accountCode: credit, direction: 'credit', amount },
      ],
    },
  });
}
