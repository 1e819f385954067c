import { HttpModule, HttpService } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import { EnKashConfig } from '../config/app-config';
import { EnKashClient, EnKashClientOptions } from './enkash.client';

/** The validated EnKash settings, for whoever needs the defaults (company, parent account) next to the client. */
export const ENKASH_CONFIG = Symbol('ENKASH_CONFIG');

/**
 * Registered with the configuration the runtime resolved: the real EnKash, or the simulator it started
 * (config.baseUrl set to the simulator's URL). The client's keep-alive sockets close with the module.
 */
@Module({})
export class EnKashModule {
  static register(config: EnKashConfig, options: EnKashClientOptions = {}): DynamicModule {
    return {
      module: EnKashModule,
      imports: [HttpModule.register({ maxRedirects: 0 })],
      providers: [
        { provide: ENKASH_CONFIG, useValue: config },
        { provide: EnKashClient, useFactory: (http: HttpService) => new EnKashClient(config, http, options), inject: [HttpService] },
      ],
      exports: [EnKashClient, ENKASH_CONFIG],
    };
  }
}
