import { Global, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { SESSION_AUTHENTICATOR } from '../auth/session-auth';
import { consoleConfigProvider } from './console-config';
import { ConsoleSessionController } from './console-session.controller';
import { ConsoleSessionsService } from './console-sessions.service';
import { ConsoleSessionsStore } from './console-sessions.store';

/**
 * The browser console's server side (docs/console.md): its sessions, and, through SESSION_AUTHENTICATOR, the
 * guard's acceptance of a session cookie in place of an API key. Its page and assets are served by installConsole.
 * Global so that ApiKeyGuard (registered by AuthModule) can be given the authenticator without a module cycle.
 */
@Global()
@Module({
  imports: [AuthModule],
  controllers: [ConsoleSessionController],
  providers: [
    consoleConfigProvider,
    ConsoleSessionsService,
    ConsoleSessionsStore,
    { provide: SESSION_AUTHENTICATOR, useExisting: ConsoleSessionsService },
  ],
  exports: [SESSION_AUTHENTICATOR],
})
export class ConsoleModule {}
