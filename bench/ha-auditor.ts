import { sleep } from './service-process';

/**
 * An auditor reading through the failovers of bench/ha.ts (docs/operations.md, "Read replicas"): the API processes
 * have DATABASE_READ_URL on HAProxy's read port. Every ~2 s it asks the trial balance as of now (a final cut it then
 * remembers by its `asOf`), and in between it asks again for a random moment it already has. The stable past says
 * every answer for one moment is the same (docs/time.md): one that differs was a stale figure claimed final. Every
 * answer must be a 200 with the read headers, or a 503 with Retry-After (the primary is down); anything else (a 500)
 * is a problem. Counts which database served, and why the primary did when it did.
 */
export class Auditor {
  readonly problems: string[] = [];
  readonly served: Record<string, number> = {};
  /** Replica-served answers before the first failover began (the run needs at least one). */
  replicaBeforeFailover = 0;
  replicaAfter = 0;
  failoverStarted = false;
  private readonly answers = new Map<string, string>();
  private stopping = false;
  private running: Promise<void> | null = null;

  constructor(
    private readonly apis: Array<{ url: string }>,
    private readonly adminKey: string,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** Moments asked and answered the same every time. */
  get moments(): number {
    return this.answers.size;
  }

  private async loop(): Promise<void> {
    let lastNow = 0;
    for (let i = 0; !this.stopping; i++) {
      const known = [...this.answers.keys()];
      const asOf = Date.now() - lastNow > 2000 || known.length === 0 ? null : known[i % known.length];
      if (asOf === null) lastNow = Date.now();
      await this.ask(this.apis[i % this.apis.length].url, asOf);
      await sleep(150);
    }
  }

  private async ask(api: string, asOf: string | null): Promise<void> {
    const path = `/v1/reports/trial-balance${asOf ? `?asOf=${encodeURIComponent(asOf)}` : ''}`;
    let res: Response;
    try {
      res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${this.adminKey}` }, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      this.count(`network:${(e as Error).name}`);
      return;
    }
    const text = await res.text();
    if (res.status === 503) {
      this.count('503');
      if (!res.headers.get('retry-after')) this.problems.push(`auditor read: 503 without Retry-After: ${text.slice(0, 200)}`);
      return;
    }
    if (res.status !== 200) {
      this.count(String(res.status));
      this.problems.push(`auditor read ${path} answered ${res.status}: ${text.slice(0, 200)}`);
      return;
    }
    const source = res.headers.get('ledger-read-source');
    const fallback = res.headers.get('ledger-read-fallback');
    if (source !== 'replica' && source !== 'primary') this.problems.push(`auditor read ${path} without Ledger-Read-Source`);
    if (source === 'replica') {
      if (!res.headers.get('ledger-final-lsn') || res.headers.get('ledger-replica-lag-ms') === null)
        this.problems.push(`a replica answer without Ledger-Final-Lsn or Ledger-Replica-Lag-Ms`);
      if (this.failoverStarted) this.replicaAfter++;
      else this.replicaBeforeFailover++;
    }
    this.count(fallback ? `primary:${fallback}` : String(source));
    const body = JSON.parse(text) as { asOf: string };
    const seen = this.answers.get(body.asOf);
    if (seen === undefined) this.answers.set(body.asOf, text);
    else if (seen !== text)
      this.problems.push(
        `the trial balance as of ${body.asOf} changed (served by ${source}): ${seen.slice(0, 120)} -> ${text.slice(0, 120)}`,
      );
  }

  private count(what: string): void {
    this.served[what] = (this.served[what] ?? 0) + 1;
  }
}
