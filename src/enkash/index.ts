export { EnKashClient, maskCardId } from './enkash.client';
export type { EnKashClientOptions } from './enkash.client';
export { ENKASH_CONFIG, EnKashModule } from './enkash.module';
export type * from './enkash.types';
