import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { actorOfCaller } from '../audit-trail/audit-trail';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequireScopes } from '../auth/scopes';
import { notFound } from '../common/errors';
import { UUID } from '../common/paging';
import { ReasonDto } from '../common/reason.dto';
import { SettlementService } from '../sync/settlement.service';
import { ResolveCardLoadDto } from './card-load.dto';
import { DocRequeueCardLoad, DocResolveCardLoad, DocUndoCardLoad } from './card-load.openapi';
import { CardLoadsService } from './card-loads.service';

/**
 * Operator paths over the review queue; every decision keeps its reason and the key's name in the load's events.
 * Registered by SettlementModule (src/sync), which provides the SettlementService they call.
 */
@ApiTags('card loads')
@Controller('v1/card-loads')
@RequireScopes('ops:write')
export class OperatorController {
  constructor(
    private readonly settlement: SettlementService,
    private readonly loads: CardLoadsService,
  ) {}

  @Post(':id/resolve')
  @HttpCode(200)
  @DocResolveCardLoad()
  async resolve(@Param('id') id: string, @Body() body: ResolveCardLoadDto, @Req() req: AuthedRequest) {
    if (!UUID.test(id)) throw notFound(`card load ${id}`);
    await this.settlement.settle(id, body.outcome, {
      reason: `resolved by operator: ${body.reason}`,
      actor: req.caller!.name,
      operator: true,
      requestId: String(req.id),
      audit: actorOfCaller(req.caller!, String(req.id)),
    });
    return this.loads.get(id, null);
  }

  /** Another lookup (and, if EnKash shows nothing after the grace, a re-send with the same reference). */
  @Post(':id/requeue')
  @HttpCode(200)
  @DocRequeueCardLoad()
  async requeue(@Param('id') id: string, @Req() req: AuthedRequest) {
    if (!UUID.test(id)) throw notFound(`card load ${id}`);
    await this.settlement.requeue(id, actorOfCaller(req.caller!, String(req.id)));
    return this.loads.get(id, null);
  }

  @Post(':id/undo')
  @HttpCode(200)
  @DocUndoCardLoad()
  async undo(@Param('id') id: string, @Body() body: ReasonDto, @Req() req: AuthedRequest) {
    if (!UUID.test(id)) throw notFound(`card load ${id}`);
    await this.settlement.undo(id, body.reason, actorOfCaller(req.caller!, String(req.id)));
    return this.loads.get(id, null);
  }
}
