import { SetMetadata } from '@nestjs/common';

export const SCOPES = ['loads:write', 'ledger:read', 'ops:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Caller {
  apiKeyId: string;
  name: string;
  scopes: Scope[];
}

export const SCOPES_KEY = 'card-ledger:scopes';
export const PUBLIC_KEY = 'card-ledger:public';

/** The route needs any one of these scopes (`admin` implies all). Routes without it are refused. */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(SCOPES_KEY, scopes);
/** Health, metrics and docs: no key needed. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export function hasScope(caller: Caller, needed: readonly Scope[]): boolean {
  return caller.scopes.includes('admin') || needed.some((s) => caller.scopes.includes(s));
}
