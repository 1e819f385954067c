import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ConsoleConfig } from '../config/app-config';

export type { ConsoleConfig } from '../config/app-config';

/** The console slice of the boot configuration (CONSOLE_*, parsed with the rest in config/app-config.ts). */
export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

export const consoleConfigProvider: Provider = {
  provide: CONSOLE_CONFIG,
  useFactory: (app: AppConfig): ConsoleConfig => app.console,
  inject: [APP_CONFIG],
};
