import type { OpenAPIObject } from '@nestjs/swagger';
import { CARD_LOAD_EXAMPLE } from '../card-loads/card-load.openapi';
import { RECONCILIATION_OPERATIONS } from '../reconciliation/reconciliation.openapi';
import { errorExample } from './error.schema';

/**
 * Documentation for routes whose controllers live in folders this feature may not edit (src/sync,
 * src/reconciliation): merged into their operations by operationId. A route added there later still gets its
 * scope and common errors from annotateAccess; only these details would be missing.
 */
const json = (schema: unknown, example?: unknown) => ({ 'application/json': { schema, ...(example ? { example } : {}) } });
const ERROR = { $ref: '#/components/schemas/Error' };
const LOAD = { $ref: '#/components/schemas/CardLoadWithEvents' };
const ID = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const NOT_FOUND = { description: 'No such load.', content: json(ERROR, errorExample('not_found', 'card load 0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60 not found')) };
const invalidState = (when: string) => ({
  description: `The load is not ${when}.`, content: json(ERROR, errorExample('invalid_state', `card load is posted, not ${when}`)),
});
const REASON = { type: 'string', maxLength: 1000, minLength: 1 };
/** Resolve and requeue act only on a parked job: the worker's exchange with EnKash is never raced (docs/design.md). */
const notInReviewOrInFlight = {
  description: '`invalid_state`: the load is not in `needs_review`. `load_in_flight`: an EnKash exchange for it is in flight or '
    + 'scheduled (a requeue), or, to reverse, a send may still land at EnKash; nothing was changed, retry after `Retry-After` seconds.',
  headers: { 'Retry-After': { description: 'With `load_in_flight`: seconds to wait before asking again.', schema: { type: 'integer' } } },
  content: { 'application/json': { schema: ERROR, examples: {
    invalid_state: { value: errorExample('invalid_state', 'card load is posted, not in needs_review') },
    load_in_flight: { value: errorExample('load_in_flight', 'card load has an EnKash exchange in flight or scheduled; it can be resolved once its job is parked in review again') },
  } } },
};

const OPERATIONS: Record<string, { tags: string[]; summary: string; description?: string; parameters?: unknown[]; requestBody?: unknown; responses: Record<string, unknown> }> = {
  OperatorController_resolve: {
    tags: ['card loads'],
    summary: 'Resolve a load in review to posted or reversed',
    description: 'Only from `needs_review`, and only while no EnKash exchange for the load is in flight or scheduled (else 409 '
      + '`load_in_flight`); `reversed` also waits until no earlier send can still land. '
      + 'The reason and the key\'s name are kept in the load\'s events.',
    parameters: [ID],
    requestBody: { required: true, content: { 'application/json': {
      schema: { $ref: '#/components/schemas/ResolveCardLoadDto' },
      example: { outcome: 'posted', reason: 'EnKash support confirmed the credit (ticket 4711)' } } } },
    responses: { 200: { description: 'The load, settled.', content: json(LOAD) }, 404: NOT_FOUND, 409: notInReviewOrInFlight },
  },
  OperatorController_requeue: {
    tags: ['card loads'],
    summary: 'Queue a load in review for another EnKash lookup',
    description: 'Re-sent with the same reference only if EnKash shows it absent. Only while the load\'s job is parked in review: '
      + 'a load already queued or in flight answers 409 `load_in_flight`.',
    parameters: [ID],
    responses: { 200: { description: 'The load, pending again.', content: json(LOAD) }, 404: NOT_FOUND, 409: notInReviewOrInFlight },
  },
  OperatorController_undo: {
    tags: ['card loads'],
    summary: 'Undo a posted load',
    description: 'Appends an opposite posted transfer linked to the original; the posted load itself is never edited.',
    parameters: [ID],
    requestBody: { required: true, content: { 'application/json': {
      schema: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: REASON } },
      example: { reason: `EnKash reversed the credit to ${CARD_LOAD_EXAMPLE.enKashCardId} (ticket 4712)` } } } },
    responses: { 200: { description: 'The load, undone.', content: json(LOAD) }, 404: NOT_FOUND, 409: invalidState('posted') },
  },
  ...RECONCILIATION_OPERATIONS,
};

type Parameter = { name?: string; in?: string };
/** The generated parameters, each replaced by a documented one of the same name and place, plus the new ones. */
function mergeParameters(generated: Parameter[] = [], documented: Parameter[] = []): Parameter[] {
  const key = (p: Parameter) => `${p.in}:${p.name}`;
  const keys = new Set(documented.map(key));
  return [...generated.filter((p) => !keys.has(key(p))), ...documented];
}

export function documentFrozenOperations(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item) as Array<{ operationId?: string; parameters?: Parameter[]; responses?: Record<string, unknown> }>) {
      const extra = op && typeof op === 'object' && op.operationId ? OPERATIONS[op.operationId] : undefined;
      if (!extra) continue;
      Object.assign(op, { ...extra, parameters: mergeParameters(op.parameters, extra.parameters as Parameter[]), responses: { ...op.responses, ...extra.responses } });
    }
  }
}
