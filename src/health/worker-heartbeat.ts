import { Injectable } from '@nestjs/common';

/** The sync worker beats this on every loop; readiness fails when a worker that should run stops beating. */
@Injectable()
export class WorkerHeartbeat {
  private enabled = false;
  private lastBeatMs = 0;
  private staleAfterMs = 30_000;

  enable(staleAfterMs: number): void {
    this.enabled = true;
    this.staleAfterMs = staleAfterMs;
    this.lastBeatMs = Date.now();
  }

  beat(): void {
    this.lastBeatMs = Date.now();
  }

  status(): string {
    if (!this.enabled) return 'not running here';
    return Date.now() - this.lastBeatMs <= this.staleAfterMs ? 'ok' : 'stalled';
  }
}
