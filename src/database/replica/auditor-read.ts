import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Observable, tap } from 'rxjs';
import { readHeaders, withReadPlan } from './read-plan';
import { ReadReplica } from './read-replica';

/**
 * Runs an auditor read under a read plan (replica when configured) and writes the plan's headers on its answer: which
 * database served it, the replica's lag, the watermark and WAL position its final cut rests on. Headers are written when
 * the handler's answer (or error) is ready, so a fallback during the handler shows; a CSV export's later pages wait the
 * same way (common/csv.ts keeps them in the request's context) but cannot change headers already sent.
 */
@Injectable()
export class AuditorReadInterceptor implements NestInterceptor {
  constructor(
    private readonly replica: ReadReplica,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const immutable = this.reflector.get<boolean | undefined>(IMMUTABLE_ROWS, context.getHandler()) === true;
    const plan = this.replica.plan(!immutable);
    const answer = () => {
      this.replica.served(plan);
      if (!reply.sent) void reply.headers(readHeaders(plan));
    };
    return withReadPlan(plan, () => next.handle()).pipe(tap({ next: answer, error: answer }));
  }
}

const IMMUTABLE_ROWS = 'ledger:auditor-read-immutable';

/**
 * Marks a route as an auditor read: it may be served by the read replica (docs/operations.md, "Read replicas"). The
 * replica's lag bound holds for every such read, unless `immutableRows`: the route answers only rows that never change
 * once final (journal entries and sums of them), so a replica that has replayed its cut serves it however far behind.
 */
export const AuditorRead = (opts: { immutableRows?: boolean } = {}) =>
  applyDecorators(
    UseInterceptors(AuditorReadInterceptor),
    SetMetadata(IMMUTABLE_ROWS, opts.immutableRows === true),
    ApiExtension('x-ledger-auditor-read', true),
  );
