import { Controller, Get } from '@nestjs/common';
import { RequireScopes } from '../auth/scopes';
import { ChainVerifierService } from './chain-verifier.service';

@Controller('v1/audit')
@RequireScopes('ledger:read')
export class AuditController {
  constructor(private readonly verifier: ChainVerifierService) {}

  @Get('verify')
  verify() {
    return this.verifier.verify();
  }
}
