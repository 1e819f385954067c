import { applyDecorators, Type } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { SCOPES } from '../auth/scopes';
import { ApiErrorResponse } from '../openapi/error.schema';
import { TIME } from '../openapi/schemas';

/** Reply shape of the session routes, for the OpenAPI document only (console-sessions.service.ts builds it). */
@ApiSchema({ name: 'ConsoleSession' })
class ConsoleSessionDoc {
  @ApiProperty({ example: 'ops-oncall', description: 'The name of the API key the session stands for.' }) name: string;
  @ApiProperty({
    enum: SCOPES,
    isArray: true,
    example: ['ops:write', 'ledger:read'],
    description: "The key's scopes: what the console shows.",
  })
  scopes: string[];

  @ApiProperty({ ...TIME, description: 'The session ends then unless used before (each use moves it forward).' }) expiresAt: string;
  @ApiProperty({ ...TIME, description: 'The session ends then, however busy.' }) maxExpiresAt: string;
  @ApiProperty({ example: 'Q2xH…', description: 'Send as `X-CSRF-Token` with every write made with this session.' }) csrfToken: string;
}

const NO_SESSION = ApiErrorResponse(401, 'No session cookie, or its session has ended (expired, signed out, or its key revoked).', [
  'unauthorized',
  'no console session, or it has ended (expired, signed out, or its key revoked): sign in again',
]);

export const DocSignIn = (dto: Type) =>
  applyDecorators(
    ApiOperation({
      summary: 'Console: exchange an API key for a session',
      description:
        'Sets the session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` over TLS) and answers the session with its CSRF ' +
        'token. The key is not kept: only the SHA-256 of the random session id is stored.',
    }),
    ApiBody({ type: dto }),
    ApiCreatedResponse({
      type: ConsoleSessionDoc,
      headers: { 'Set-Cookie': { description: 'The session cookie.', schema: { type: 'string' } } },
    }),
    ApiErrorResponse(401, 'Unknown or revoked API key.', ['unauthorized', 'unknown or revoked API key']),
    ApiErrorResponse(403, 'Sent from a page of another origin.', ['forbidden', "sign-in is accepted only from the console's own origin"]),
  );

export const DocSession = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Console: the session of this browser',
      description: 'Who is signed in, with what scopes, and the CSRF token.',
    }),
    ApiOkResponse({ type: ConsoleSessionDoc }),
    NO_SESSION,
  );

export const DocSignOut = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Console: sign out',
      description: 'Ends the session (needs its `X-CSRF-Token`) and clears the cookie; with no live session, only clears it.',
    }),
    ApiNoContentResponse({ description: 'Signed out.' }),
    ApiErrorResponse(403, "The session's CSRF token is missing or wrong.", [
      'forbidden',
      'a write made with a console session needs its CSRF token in x-csrf-token (missing or wrong)',
    ]),
  );
