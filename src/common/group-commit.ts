import { Logger } from '@nestjs/common';

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Group commit: items submitted while a batch is being written wait and go together in the next batch,
 * so N concurrent callers cost one transaction (one commit, one lock on a hot account) instead of N.
 * No timer is set. A batch that starts from idle is deferred with setImmediate, until the I/O callbacks still due in
 * this round of the event loop have run, so that what they submit goes with it (a worker fencing the loads it just
 * claimed, requests read together); under light load a batch is a single item that waited only for that round.
 * A test with Jest's fake timers must leave setImmediate real (`doNotFake: ['setImmediate']`), or nothing is written.
 * If a batch throws as a whole, every item is retried alone, in arrival order, so one bad item never
 * fails the others; the write function reports per-item failures in its result map otherwise.
 */
export class GroupCommit<I, R> {
  private queue: Array<{ item: I; settle: (o: Outcome<R>) => void }> = [];
  private draining = false;

  constructor(
    private readonly name: string,
    private readonly write: (batch: I[]) => Promise<Map<I, Outcome<R>>>,
    private readonly maxBatch: number,
    private readonly logger = new Logger(GroupCommit.name),
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, settle: (o) => (o.ok ? resolve(o.value) : reject(o.error)) });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Runs only as scheduled by submit(), which set `draining` for it. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commit(this.queue.splice(0, this.maxBatch));
    } finally {
      this.draining = false;
    }
  }

  private async commit(batch: Array<{ item: I; settle: (o: Outcome<R>) => void }>): Promise<void> {
    let results: Map<I, Outcome<R>>;
    try {
      results = await this.write(batch.map((b) => b.item));
    } catch (error) {
      if (batch.length === 1) return batch[0].settle({ ok: false, error });
      this.logger.debug?.(`${this.name}: batch of ${batch.length} failed as a whole (${String(error)}); retrying each alone`);
      for (const b of batch) await this.commit([b]);
      return;
    }
    for (const b of batch) b.settle(results.get(b.item) ?? { ok: false, error: new Error(`${this.name}: no result for an item`) });
  }
}
