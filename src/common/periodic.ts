/**
 * A background job run every `intervalMs` (and at once with `{ now: true }`), never twice at once (a run that
 * outlasts the interval skips the next tick), its failures reported and retried at the next tick. The timer never
 * keeps the process alive; stop() waits for the run in progress, the first one included, so a shutdown drains it with
 * the database still open.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly onError: (message: string) => void,
  ) {}

  start(intervalMs: number, opts: { now?: boolean } = {}): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
    if (opts.now) this.tick();
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.work()
      .catch((e: unknown) => this.onError(e instanceof Error ? e.message : String(e)))
      .finally(() => (this.running = null));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
