import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AUDIT_KEYS, AuditKeys } from './audit-keys';

/**
 * The audit key (docs/audit.md), chosen by the composition root: the service's from its configuration, the CLI's
 * from what it was given at its start.
 */
@Global()
@Module({})
export class AuditKeysModule {
  /** AUDIT_SEAL_KEY, else the key file in DATA_DIR (created at the first start). */
  static fromConfig(): DynamicModule {
    return {
      module: AuditKeysModule,
      providers: [{ provide: AUDIT_KEYS, useFactory: (config: AppConfig) => AuditKeys.fromConfig(config.audit), inject: [APP_CONFIG] }],
      exports: [AUDIT_KEYS],
    };
  }

  /** The given key, or none: the verifier then checks the chain and the checkpoints only, and events carry no MAC. */
  static of(material: string | null): DynamicModule {
    return {
      module: AuditKeysModule,
      providers: [{ provide: AUDIT_KEYS, useValue: material !== null ? new AuditKeys(material) : null }],
      exports: [AUDIT_KEYS],
    };
  }
}
