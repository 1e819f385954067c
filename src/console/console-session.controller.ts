import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/scopes';
import { ApiError } from '../common/errors';
import { DocSession, DocSignIn, DocSignOut } from './console.openapi';
import { ConsoleSessionsService } from './console-sessions.service';

export class SignInDto {
  @ApiProperty({
    minLength: 16,
    maxLength: 200,
    example: 'ckl_Zx3fQ0k9...',
    description: 'An API key; exchanged for a session, never stored.',
  })
  @IsString()
  @MinLength(16)
  @MaxLength(200)
  apiKey: string;
}

/**
 * A sign-in posted from another origin's page is refused (login CSRF: signing a victim into the attacker's key).
 * Browsers say where a request comes from in Sec-Fetch-Site, which no page can forge: only `same-origin` passes.
 * Browsers too old to send it send Origin on every POST, which must then name this host (a proxy that rewrites Host
 * breaks only those). Neither header: a client that is not a browser page, which is fine.
 */
function checkSameOrigin(req: FastifyRequest): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) {
    if (site !== 'same-origin') throw crossOrigin();
    return;
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | null;
  try {
    host = new URL(origin).host;
  } catch {
    host = null;
  }
  if (host === null || host !== req.headers.host) throw crossOrigin();
}

const crossOrigin = () => new ApiError('forbidden', "sign-in is accepted only from the console's own origin");

/** The console's sessions (docs/console.md). Public to the guard: the key in the body or the cookie is the credential. */
@ApiTags('console')
@Controller('console/api/session')
@Public()
export class ConsoleSessionController {
  constructor(private readonly sessions: ConsoleSessionsService) {}

  @Post()
  @HttpCode(201)
  @DocSignIn(SignInDto)
  signIn(@Body() body: SignInDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    checkSameOrigin(req);
    void reply.header('cache-control', 'no-store');
    return this.sessions.signIn(body.apiKey, req, reply);
  }

  @Get()
  @DocSession()
  current(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('cache-control', 'no-store');
    return this.sessions.current(req);
  }

  @Delete()
  @HttpCode(204)
  @DocSignOut()
  async signOut(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.sessions.signOut(req, reply);
  }
}
