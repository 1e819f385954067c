import { FastifyInstance, FastifyReply, HTTPMethods } from 'fastify';
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
  /** Every admin route answers what `fn` returns (else {ok: true}), or 400 with what was wrong with the input. */
  const route = (method: HTTPMethods, url: string, fn: (body: unknown, params: Record<string, string>) => unknown) =>
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        try {
          return send(reply, 200, fn(req.body, (req.params ?? {}) as Record<string, string>) ?? { ok: true });
        } catch (e) {
          if (e instanceof SimulatorInputError) return send(reply, 400, { error: e.message });
          throw e;
        }
      },
    });

  route('GET', '/__admin/state', () => state.snapshot());
  route('POST', '/__admin/reset', () => state.reset());
  /** Admin bodies hold small settings: plain numbers are fine, except amounts, read by their literal. */
  route('PATCH', '/__admin/config', (body) => {
    state.setConfig(parseConfigPatch(amountsAsText(body, ['parentBalance'])));
    return state.snapshot().config;
  });
  route('POST', '/__admin/faults', (body) => {
    state.injectFault(parseFaultSpec(plainNumbers(body)));
    return { pendingFaults: state.pendingFaults() };
  });
  route('DELETE', '/__admin/faults', () => state.clearFaults());
  route('GET', '/__admin/applied/:reference', (_b, p) => ({
    reference: p.reference,
    count: state.appliedCount(p.reference),
    amounts: state.appliedAmountsMinor(p.reference).map(money),
  }));
  route('GET', '/__admin/requests/:reference', (_b, p) => ({ reference: p.reference, requests: state.requestsFor(p.reference) }));
  route('GET', '/__admin/records', () =>
    state.records().map((r) => ({
      ...recordView(r),
      principalAmount: money(r.amountMinor),
      balance: money(r.balanceAfterMinor),
      amountText: r.amountText,
      planted: r.planted,
    })),
  );
  route('POST', '/__admin/records/:reference/status', (body, p) => {
    const status = isJsonObject(body) ? body.status : undefined;
    if (typeof status !== 'string' || status === '') throw new SimulatorInputError('status must be a non-empty string such as REVERSED');
    const changed = state.setRecordStatus(p.reference, status.toUpperCase());
    if (changed === 0) throw new SimulatorInputError(`no record has pgReferenceNumber ${p.reference}`);
    return { reference: p.reference, changed };
  });
  route('POST', '/__admin/apply', (body) => {
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
  });
  route('POST', '/__admin/unlock', () => state.unlock());
  route('POST', '/__admin/tokens/revoke', () => state.revokeTokens());
}

const money = (minor: bigint): string => rupeeNumber(minor).value;

/** Keeps the literal text of the named amount fields and turns every other number into a plain number. */
function amountsAsText(body: unknown, amountKeys: string[]): unknown {
  if (!isJsonObject(body)) return body;
  const plain = plainNumbers(body) as Record<string, unknown>;
  for (const k of amountKeys) if (k in body) plain[k] = body[k];
  return plain;
}
