import { LedgerCore1764000000000 } from '../../migrations/1764000000000-LedgerCore';
import { LedgerApplyDeltas1764100000000 } from '../../migrations/1764100000000-LedgerApplyDeltas';
import { Reconciliation1764200000000 } from '../../migrations/1764200000000-Reconciliation';
import { LedgerSetBased1764500000000 } from '../../migrations/1764500000000-LedgerSetBased';
import { WebhookSecretRotation1764600000000 } from '../../migrations/1764600000000-WebhookSecretRotation';
import { RateLimits1764400000000 } from '../../migrations/1764400000000-RateLimits';
import { Webhooks1764300000000 } from '../../migrations/1764300000000-Webhooks';
import { SyncClaimTokens1764700000000 } from '../../migrations/1764700000000-SyncClaimTokens';
import { LedgerMoment1764800000000 } from '../../migrations/1764800000000-LedgerMoment';
import { CardLoadsByOwner1764805000000 } from '../../migrations/1764805000000-CardLoadsByOwner';
import { AuditAnchors1764810000000 } from '../../migrations/1764810000000-AuditAnchors';
import { DatabaseIdentity1765000000000 } from '../../migrations/1765000000000-DatabaseIdentity';
import { AuditEvents1765010000000 } from '../../migrations/1765010000000-AuditEvents';
import { ConsoleSessions1765100000000 } from '../../migrations/1765100000000-ConsoleSessions';
import { SignedVerdicts1765110000000 } from '../../migrations/1765110000000-SignedVerdicts';
import { IntakeInOneCall1765200000000 } from '../../migrations/1765200000000-IntakeInOneCall';
import { ResolvePendingInOneCall1765210000000 } from '../../migrations/1765210000000-ResolvePendingInOneCall';
import { SettlementInTwoCalls1765220000000 } from '../../migrations/1765220000000-SettlementInTwoCalls';
import { SettlementOneRowVersion1765230000000 } from '../../migrations/1765230000000-SettlementOneRowVersion';
import { IntakeOpensOnlyNewAccounts1765240000000 } from '../../migrations/1765240000000-IntakeOpensOnlyNewAccounts';
import { PartitionJournalByMonth1765300000000 } from '../../migrations/1765300000000-PartitionJournalByMonth';
import { ReferencesCheckedPerStatement1765310000000 } from '../../migrations/1765310000000-ReferencesCheckedPerStatement';
import { ForkMarkedOnce1765320000000 } from '../../migrations/1765320000000-ForkMarkedOnce';
import { ContentHashedWhereWritten1765400000000 } from '../../migrations/1765400000000-ContentHashedWhereWritten';
import { LookupsOnePerKey1765410000000 } from '../../migrations/1765410000000-LookupsOnePerKey';
import { PlansKeptPerConnection1765420000000 } from '../../migrations/1765420000000-PlansKeptPerConnection';
import { ContentHashInlined1765430000000 } from '../../migrations/1765430000000-ContentHashInlined';
import { AccountCodeCheckedCheaply1765440000000 } from '../../migrations/1765440000000-AccountCodeCheckedCheaply';
import { MovesPlannedOnce1765450000000 } from '../../migrations/1765450000000-MovesPlannedOnce';
import { AccountsKnowTheirLastChange1765460000000 } from '../../migrations/1765460000000-AccountsKnowTheirLastChange';
import { WorkerStatementsPlannedOnce1765470000000 } from '../../migrations/1765470000000-WorkerStatementsPlannedOnce';
import { LoadReferencesCheckedPerStatement1765480000000 } from '../../migrations/1765480000000-LoadReferencesCheckedPerStatement';
import { AuditorReadsPlannedOnce1765490000000 } from '../../migrations/1765490000000-AuditorReadsPlannedOnce';

/** Listed explicitly (not globbed) so the same list works from ts (tests) and from the compiled build. */
export const MIGRATIONS = [
  LedgerCore1764000000000,
  LedgerApplyDeltas1764100000000,
  Reconciliation1764200000000,
  Webhooks1764300000000,
  RateLimits1764400000000,
  LedgerSetBased1764500000000,
  WebhookSecretRotation1764600000000,
  SyncClaimTokens1764700000000,
  LedgerMoment1764800000000,
  CardLoadsByOwner1764805000000,
  AuditAnchors1764810000000,
  DatabaseIdentity1765000000000,
  AuditEvents1765010000000,
  ConsoleSessions1765100000000,
  SignedVerdicts1765110000000,
  IntakeInOneCall1765200000000,
  ResolvePendingInOneCall1765210000000,
  SettlementInTwoCalls1765220000000,
  SettlementOneRowVersion1765230000000,
  IntakeOpensOnlyNewAccounts1765240000000,
  PartitionJournalByMonth1765300000000,
  ReferencesCheckedPerStatement1765310000000,
  ForkMarkedOnce1765320000000,
  ContentHashedWhereWritten1765400000000,
  LookupsOnePerKey1765410000000,
  PlansKeptPerConnection1765420000000,
  ContentHashInlined1765430000000,
  AccountCodeCheckedCheaply1765440000000,
  MovesPlannedOnce1765450000000,
  AccountsKnowTheirLastChange1765460000000,
  WorkerStatementsPlannedOnce1765470000000,
  LoadReferencesCheckedPerStatement1765480000000,
  AuditorReadsPlannedOnce1765490000000,
];
