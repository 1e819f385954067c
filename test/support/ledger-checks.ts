/** The invariant checks live with the ledger (the soak suite runs them too); tests import them from here. */
export { expectNoViolations, ledgerViolations } from '../../src/ledger/ledger-invariants';
