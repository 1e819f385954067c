import { LedgerCore1764000000000 } from '../../migrations/1764000000000-LedgerCore';
import { LedgerApplyDeltas1764100000000 } from '../../migrations/1764100000000-LedgerApplyDeltas';

/** Listed explicitly (not globbed) so the same list works from ts (tests) and from the compiled build. */
export const MIGRATIONS = [LedgerCore1764000000000, LedgerApplyDeltas1764100000000];
