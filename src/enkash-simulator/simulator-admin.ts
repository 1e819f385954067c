import { FastifyInstance, FastifyReply } from 'fastify';
import { parseConfigPatch, parseFaultSpec, SimulatorInputError } from './simulator-config';
import { isJsonObject, parseRupeesMinor, plainNumbers, rupeeNumber } from './simulator-json';
import { recordView, SimulatorState } from './simulator-state';

/**
 * The admin API, /__admin, no auth (the simulator listens on 127.0.0.1 and plays a partner's sandbox):
 *
 *   GET    /__admin/state                       balances, counts (tokenIssuedCount, failedLoginCount, requests), config, faults
 *   POST   /__admin/reset                       back to the start options: no records, tokens, faults or lock
 *   PATCH  /__admin/config                      any of duplicateMode, latencyMs, failureRate, failureFaults, seed,
 *                                               lookupLagMs, lookupShape, lookupNotFound, envelope, codeAsString, encryption,
 *                                               encryptedResponseKey, tokenTtlSeconds, tokenStyle, hangMs,
 *                                               parentBalance ("1000000.00")
 *   POST   /__admin/faults                      {fault, count?, reference?, applied?, hangMs?, endpoint?}: queue one-shot faults
 *   DELETE /__admin/faults                      empty the queue
 *   GET    /__admin/applied/:reference          {reference, count, amounts: ["0.30", …]}
 *   GET    /__admin/requests/:reference         every card request naming the reference: arrival, handling, fault, applied
 *   GET    /__admin/records                     every transaction record as transaction/all shows it (no lag)
 *   POST   /__admin/records/:reference/status   {status}: e.g. REVERSED; money follows (back to the parent)
 *   POST   /__admin/apply                       {reference, enKashCardId, amount}: plant a record as if applied
 *   POST   /__admin/unlock                      clear the login lock-out and the failure streak
 *   POST   /__admin/tokens/revoke               forget every issued token (the next card call gets a 401)
 */
export function registerAdminRoutes(app: FastifyInstance, state: SimulatorState): void {
  const send = (reply: FastifyReply, status: number, body: unknown) =>
    reply.code(status).type('application/json').send(JSON.stringify(body));
  /** Admin bodies hold small settings: plain numbers are fine, except amounts, read by their literal. */
  const guarded =
    (fn: (body: unknown, params: Record<string, string>) => unknown) =>
    async (req: { body: unknown; params: unknown }, reply: FastifyReply) => {
      try {
        return send(reply, 200, fn(req.body, (req.params ?? {}) as Record<string, string>) ?? { ok: true });
      } catch (e) {
        if (e instanceof SimulatorInputError) return send(reply, 400, { error: e.message });
        throw e;
      }
    };

  app.get(
    '/__admin/state',
    guarded(() => state.snapshot()),
  );
  app.post(
    '/__admin/reset',
    guarded(() => state.reset()),
  );
  app.patch(
    '/__admin/config',
    guarded((body) => {
      state.setConfig(parseConfigPatch(amountsAsText(body, ['parentBalance'])));
      return state.snapshot().config;
    }),
  );
  app.post(
    '/__admin/faults',
    guarded((body) => {
      state.injectFault(parseFaultSpec(plainNumbers(body)));
      return { pendingFaults: state.pendingFaults() };
    }),
  );
  app.delete(
    '/__admin/faults',
    guarded(() => state.clearFaults()),
  );
  app.get(
    '/__admin/applied/:reference',
    guarded((_b, p) => ({
      reference: p.reference,
      count: state.appliedCount(p.reference),
      amounts: state.appliedAmountsMinor(p.reference).map(money),
    })),
  );
  app.get(
    '/__admin/requests/:reference',
    guarded((_b, p) => ({ reference: p.reference, requests: state.requestsFor(p.reference) })),
  );
  app.get(
    '/__admin/records',
    guarded(() =>
      state.records().map((r) => ({
        ...recordView(r),
        principalAmount: money(r.amountMinor),
        balance: money(r.balanceAfterMinor),
        amountText: r.amountText,
        planted: r.planted,
      })),
    ),
  );
  app.post(
    '/__admin/records/:reference/status',
    guarded((body, p) => {
      const status = isJsonObject(body) ? body.status : undefined;
      if (typeof status !== 'string' || status === '') throw new SimulatorInputError('status must be a non-empty string such as REVERSED');
      const changed = state.setRecordStatus(p.reference, status.toUpperCase());
      if (changed === 0) throw new SimulatorInputError(`no record has pgReferenceNumber ${p.reference}`);
      return { reference: p.reference, changed };
    }),
  );
  app.post(
    '/__admin/apply',
    guarded((body) => {
      if (!isJsonObject(body) || typeof body.reference !== 'string' || typeof body.enKashCardId !== 'string') {
        throw new SimulatorInputError('body must be {reference, enKashCardId, amount}');
      }
      const minor = parseRupeesMinor(body.amount);
      if (minor === null) throw new SimulatorInputError('amount must be rupees with at most 2 decimals');
      const record = state.plantApplied(body.reference, body.enKashCardId, minor);
      return {
        enKashCardTransactionId: record.enKashCardTransactionId,
        reference: body.reference,
        count: state.appliedCount(body.reference),
      };
    }),
  );
  app.post(
    '/__admin/unlock',
    guarded(() => state.unlock()),
  );
  app.post(
    '/__admin/tokens/revoke',
    guarded(() => state.revokeTokens()),
  );
}

const money = (minor: bigint): string => rupeeNumber(minor).value;

/** Keeps the literal text of the named amount fields and turns every other number into a plain number. */
function amountsAsText(body: unknown, amountKeys: string[]): unknown {
  if (!isJsonObject(body)) return body;
  const plain = plainNumbers(body) as Record<string, unknown>;
  for (const k of amountKeys) if (k in body) plain[k] = body[k];
  return plain;
}
