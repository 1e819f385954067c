import { Command, Option } from 'nest-commander';
import { CardLoadsStore } from '../card-loads/card-loads.store';
import { ApiError, notFound } from '../common/errors';
import { SettlementService } from '../sync/settlement.service';
import { CliCommand, isUuid, JsonOption } from './cli-command';
import { CliUsageError, emit } from './output';

const PAGE = 500;

/**
 * Re-queue goes through SettlementService.requeue, the same step as POST /v1/card-loads/{id}/requeue:
 * the load row locked, status checked = needs_review, the job reset and a 'requeued' event, in one transaction.
 */
@Command({
  name: 'requeue',
  arguments: '[loadId]',
  description: 'queue a load in needs_review (or every one, with --all-review) for another lookup at EnKash',
})
export class RequeueCommand extends CliCommand {
  constructor(
    private readonly settlement: SettlementService,
    private readonly loads: CardLoadsStore,
  ) {
    super();
  }

  @Option({ flags: '--all-review', description: 'every load currently in needs_review' })
  parseAllReview(): boolean {
    return true;
  }

  async run([loadId]: string[], opts: JsonOption & { allReview?: boolean }): Promise<void> {
    if ((loadId === undefined) === (opts.allReview !== true)) throw new CliUsageError('give either a load id or --all-review');
    const json = opts.json === true;
    // Recorded in the load's events and the audit trail, next to the API's key names: `cli (<os user>)`.
    const actor = this.db.actor();
    if (loadId !== undefined) {
      if (!isUuid(loadId)) throw notFound(`card load ${loadId}`);
      await this.db.connect();
      await this.settlement.requeue(loadId, actor);
      emit(json, { requeued: [loadId], skipped: [] }, () => `re-queued card load ${loadId}: the worker looks it up at EnKash next`);
      return;
    }
    await this.db.connect();
    const requeued: string[] = [];
    const skipped: Array<{ loadId: string; reason: string }> = [];
    // Re-queueing leaves the status at needs_review, so page by id (keyset) to visit each load once.
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const page = await this.loads.needsReviewIds(after, PAGE);
      for (const id of page) {
        try {
          await this.settlement.requeue(id, actor);
          requeued.push(id);
        } catch (e) {
          // Settled since the page was read, or already queued / in flight (requeue never touches a live job):
          // not an error for a bulk run.
          if (!(e instanceof ApiError) || (e.code !== 'invalid_state' && e.code !== 'load_in_flight')) throw e;
          skipped.push({ loadId: id, reason: e.message });
        }
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
    emit(json, { requeued, skipped }, () =>
      [
        `re-queued ${requeued.length} load(s) in needs_review${skipped.length ? `, skipped ${skipped.length} settled or in flight` : ''}`,
        ...requeued.map((id) => `  ${id}`),
      ].join('\n'),
    );
  }
}
