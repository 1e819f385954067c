import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig, WebhookConfig } from '../config/app-config';

export type { SecretKeySource, WebhookConfig } from '../config/app-config';

/** The webhook slice of the boot configuration (WEBHOOK_*, parsed with the rest in config/app-config.ts). */
export const WEBHOOK_CONFIG = Symbol('WEBHOOK_CONFIG');

export const webhookConfigProvider: Provider = {
  provide: WEBHOOK_CONFIG,
  useFactory: (app: AppConfig): WebhookConfig => app.webhooks,
  inject: [APP_CONFIG],
};
