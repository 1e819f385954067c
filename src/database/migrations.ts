import { LedgerCore1764000000000 } from '../../migrations/1764000000000-LedgerCore';

/** Listed explicitly (not globbed) so the same list works from ts (tests) and from the compiled build. */
export const MIGRATIONS = [LedgerCore1764000000000];
