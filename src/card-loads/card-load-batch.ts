import { Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Caller } from '../auth/scopes';
import { ApiError, badField, errorBody, FieldProblem, validationFailed } from '../common/errors';
import { toApiError } from '../common/http-exception.filter';
import { unstorableText } from '../common/text';
import { flattenValidationErrors } from '../common/validation';
import { CreateCardLoadDto, IDEMPOTENCY_KEY, isValidLoad } from './card-load.dto';
import { CardLoadView } from './card-load.view';
import { CardLoadsService } from './card-loads.service';
import { requestHash, reusedKey } from './intake-writer';

/** Upper bound on loads in one batch request (the contract). */
export const BATCH_MAX_LOADS = 1000;

export type BatchItemResult =
  | { index: number; status: 200 | 201; load: CardLoadView }
  | { index: number; status: number; error: { code: string; message: string; details?: FieldProblem[] } };

/** An item answered with an error: the status and body its code gives (common/error-codes.ts). */
const failed = (index: number, err: ApiError): BatchItemResult => ({ index, status: err.status, ...errorBody(err) });

/**
 * Bulk intake: every item is validated and answered on its own (one bad item never blocks the rest), and
 * the valid ones go through the same group-committed intake as single loads, so they share transactions.
 */
@Injectable()
export class CardLoadBatchService {
  private readonly logger = new Logger(CardLoadBatchService.name);

  constructor(private readonly loads: CardLoadsService) {}

  async create(caller: Caller, body: unknown, requestId: string | null): Promise<{ results: BatchItemResult[] }> {
    const items = this.items(body);
    const results = await Promise.all(
      items.map(async (raw, index): Promise<BatchItemResult> => {
        let parsed: { idempotencyKey: string; dto: CreateCardLoadDto } | null = null;
        try {
          parsed = await this.parse(raw, index);
          const { load, replayed } = await this.loads.create(caller, parsed.idempotencyKey, parsed.dto, requestId);
          return { index, status: replayed ? 200 : 201, load };
        } catch (e) {
          const err = toApiError(e);
          if (err.status >= 500) return this.afterUnexpected(caller, parsed, index, requestId, e);
          return failed(index, err);
        }
      }),
    );
    return { results };
  }

  /**
   * An item failed in a way validation did not foresee (a bug, or the database gone mid-write). Its intake may
   * still have committed (the acknowledgement of a COMMIT can be lost), and a batch must never report failure for
   * an item it wrote: a caller that then retries with a fresh key would load the card twice. So the item's
   * idempotency key decides: written → its load, as created or replayed; not written → an error that says so;
   * cannot tell → 503, retry with the same key.
   */
  private async afterUnexpected(
    caller: Caller,
    parsed: { idempotencyKey: string; dto: CreateCardLoadDto } | null,
    index: number,
    requestId: string | null,
    e: unknown,
  ): Promise<BatchItemResult> {
    this.logger.error(`batch item ${index} failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const retry = 'retry it with the same idempotencyKey, never a new one';
    if (parsed === null) return failed(index, new ApiError('internal_error', `this item was not written; ${retry}`));
    try {
      const found = await this.loads.findByIdempotencyKey(caller, parsed.idempotencyKey);
      if (found === null) return failed(index, new ApiError('internal_error', `this item was not written; ${retry}`));
      // Written, but by this body? The key may hold another request's load: that is a reused key, not a replay.
      if (!found.requestHash.equals(requestHash(this.loads.normalise(parsed.dto)))) {
        return failed(index, reusedKey());
      }
      return { index, status: found.requestId === requestId ? 201 : 200, load: found.view };
    } catch {
      return failed(index, new ApiError('service_unavailable', `whether this item was written is unknown: ${retry}`));
    }
  }

  private items(body: unknown): unknown[] {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badField('body', 'must be an object {"loads": [...]}');
    const unknown = Object.keys(body).filter((k) => k !== 'loads');
    if (unknown.length) throw validationFailed(unknown.map((field) => ({ field, message: 'is not a known field' })));
    const loads = (body as { loads?: unknown }).loads;
    if (!Array.isArray(loads) || loads.length < 1 || loads.length > BATCH_MAX_LOADS) {
      throw badField('loads', `must be an array of 1 to ${BATCH_MAX_LOADS} loads`);
    }
    return loads;
  }

  private async parse(raw: unknown, index: number): Promise<{ idempotencyKey: string; dto: CreateCardLoadDto }> {
    const at = (field: string) => `loads.${index}.${field}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badField(`loads.${index}`, 'must be an object');
    const { idempotencyKey, ...rest } = raw as Record<string, unknown>;
    if (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badField(at('idempotencyKey'), 'is required: 1-255 characters of A-Za-z0-9_-.:');
    }
    // What the global pipe checks for a single load, here per item: one bad item never blocks the others.
    const unstorable = unstorableText(rest, `loads.${index}`);
    if (unstorable.length) throw validationFailed(unstorable);
    if (isValidLoad(rest)) return { idempotencyKey, dto: rest as unknown as CreateCardLoadDto };
    const dto = plainToInstance(CreateCardLoadDto, rest);
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
    if (errors.length) throw validationFailed(flattenValidationErrors(errors).map((p) => ({ ...p, field: at(p.field) })));
    return { idempotencyKey, dto };
  }
}
