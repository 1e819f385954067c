import { HttpModule, HttpService } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import { EnKashConfig } from '../config/app-config';
import { EnKashClient, EnKashClientOptions } from './enkash.client';
import { enkashHttpOptions } from './enkash.transport';

/** The validated EnKash settings, for whoever needs the defaults (company, parent account) next to the client. */
export const ENKASH_CONFIG = Symbol('ENKASH_CONFIG');

/**
 * Registered once per process, by app.module.ts, with the configuration the runtime resolved: the real EnKash, or
 * the simulator it started (config.baseUrl set to the simulator's URL). Global, so the sync worker and
 * reconciliation share one client and one token cache (EnKash locks a login out after 3 refusals). HttpModule
 * carries the timeouts and the keep-alive agents; the client's sockets close with the module.
 */
@Module({})
export class EnKashModule {
  static register(config: EnKashConfig, options: EnKashClientOptions = {}): DynamicModule {
    return {
      module: EnKashModule,
      global: true,
      imports: [
        HttpModule.registerAsync({
          extraProviders: [{ provide: ENKASH_CONFIG, useValue: config }],
          useFactory: (c: EnKashConfig) => enkashHttpOptions(c.timeoutMs),
          inject: [ENKASH_CONFIG],
        }),
      ],
      providers: [
        { provide: ENKASH_CONFIG, useValue: config },
        { provide: EnKashClient, useFactory: (http: HttpService) => new EnKashClient(config, http, options), inject: [HttpService] },
      ],
      exports: [EnKashClient, ENKASH_CONFIG],
    };
  }
}
