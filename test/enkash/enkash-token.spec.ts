import { captureLogs, CARD, makeClient, newReference, sleep, useSimulator } from './harness';

captureLogs();

describe('EnKashClient token handling', () => {
  const ctx = useSimulator();

  it('should log in once for many calls', async () => {
    const client = makeClient(ctx.sim);
    for (let i = 0; i < 5; i++) expect((await client.getParentAccount()).kind).toBe('succeeded');
    await client.getCard(CARD);
    expect(ctx.sim.state.tokenIssuedCount).toBe(1);
    expect(ctx.sim.state.requestCounts.token).toBe(1);
  });

  it('should log in exactly once for 50 concurrent first calls', async () => {
    ctx.sim.state.setConfig({ latencyMs: 30 });
    const client = makeClient(ctx.sim, { timeoutMs: 2000 });
    const outs = await Promise.all(
      Array.from({ length: 50 }, () => client.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 1n })),
    );
    expect(outs.every((o) => o.kind === 'succeeded')).toBe(true);
    expect(ctx.sim.state.requestCounts.token).toBe(1);
    expect(ctx.sim.state.cardBalanceMinor(CARD)).toBe(50n);
  });

  it('should refresh ahead of expiry', async () => {
    ctx.sim.state.setConfig({ tokenTtlSeconds: 1 });
    const client = makeClient(ctx.sim);
    await client.getParentAccount();
    await client.getParentAccount();
    expect(ctx.sim.state.tokenIssuedCount).toBe(1);
    // Refresh is due at 90 % of the lifetime (0.9 s), before the simulator would answer 401 (1 s).
    await sleep(950);
    expect((await client.getParentAccount()).kind).toBe('succeeded');
    expect(ctx.sim.state.tokenIssuedCount).toBe(2);
    expect(ctx.sim.state.requestCounts['cardAccount/get']).toBe(3);
  });

  it('should accept camelCase token fields', async () => {
    ctx.sim.state.setConfig({ tokenStyle: 'camel' });
    const client = makeClient(ctx.sim);
    expect((await client.getParentAccount()).kind).toBe('succeeded');
    expect((await client.getParentAccount()).kind).toBe('succeeded');
    expect(ctx.sim.state.tokenIssuedCount).toBe(1);
  });

  it('should fetch one fresh token and retry once after a 401', async () => {
    const client = makeClient(ctx.sim);
    await client.getParentAccount();
    ctx.sim.state.revokeTokens();
    const ref = newReference();
    expect(await client.loadCard({ reference: ref, enKashCardId: CARD, amountMinor: 100n })).toMatchObject({ kind: 'succeeded' });
    expect(ctx.sim.state.tokenIssuedCount).toBe(2);
    expect(ctx.sim.state.requestCounts.balance).toBe(2);
    expect(ctx.sim.state.appliedCount(ref)).toBe(1);
  });

  it('should refresh once for many concurrent calls that all got a 401', async () => {
    const client = makeClient(ctx.sim, { timeoutMs: 2000 });
    await client.getParentAccount();
    ctx.sim.state.revokeTokens();
    const outs = await Promise.all(Array.from({ length: 20 }, () => client.getCard(CARD)));
    expect(outs.every((o) => o.kind === 'succeeded')).toBe(true);
    expect(ctx.sim.state.tokenIssuedCount).toBe(2);
  });

  it('should stop at one retry when the fresh token gets a 401 too', async () => {
    const client = makeClient(ctx.sim);
    const ref = newReference();
    ctx.sim.state.injectFault({ fault: 'http-401', count: 5 });
    expect(await client.loadCard({ reference: ref, enKashCardId: CARD, amountMinor: 100n })).toMatchObject({
      kind: 'systemic',
      reason: 'unauthorized-after-refresh',
      httpStatus: 401,
    });
    expect(ctx.sim.state.requestCounts.balance).toBe(2);
    expect(ctx.sim.state.tokenIssuedCount).toBe(2);
    expect(ctx.sim.state.appliedCount(ref)).toBe(0);
  });

  it('should log in once after a bad password, report systemic, and not log in again', async () => {
    const client = makeClient(ctx.sim, { password: 'wrong-password' });
    const first = await client.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n });
    expect(first).toMatchObject({ kind: 'systemic', reason: 'login-failed', httpStatus: 401 });
    const more = await Promise.all(Array.from({ length: 10 }, () => client.getParentAccount()));
    expect(more.every((o) => o.kind === 'systemic' && o.reason === 'login-suspended')).toBe(true);
    expect(ctx.sim.state.failedLoginCount).toBe(1);
    expect(ctx.sim.state.requestCounts.token).toBe(1);
    expect(ctx.sim.state.requestCounts.balance + ctx.sim.state.requestCounts['cardAccount/get']).toBe(0);
    expect(ctx.sim.state.locked).toBe(false);
  });

  it('should never make the third failed login by itself, even after the cool-down', async () => {
    const client = makeClient(ctx.sim, { clientSecret: 'wrong-secret' }, { loginCooldownMs: 50 });
    expect(await client.getParentAccount()).toMatchObject({ kind: 'systemic', reason: 'login-failed' });
    await sleep(60);
    expect(await client.getParentAccount()).toMatchObject({ kind: 'systemic', reason: 'login-failed' });
    await sleep(60);
    expect(await client.getParentAccount()).toMatchObject({ kind: 'systemic', reason: 'login-suspended' });
    expect(ctx.sim.state.failedLoginCount).toBe(2);
    expect(ctx.sim.state.locked).toBe(false);
  });

  it('should log in again after resetAuthFailure()', async () => {
    const client = makeClient(ctx.sim, { password: 'wrong-password' });
    expect((await client.getParentAccount()).kind).toBe('systemic');
    client.resetAuthFailure();
    expect((await client.getParentAccount()).kind).toBe('systemic');
    expect(ctx.sim.state.failedLoginCount).toBe(2);
  });

  it('should call a token endpoint outage systemic without pausing logins', async () => {
    const client = makeClient(ctx.sim);
    ctx.sim.state.injectFault({ fault: 'http-503', endpoint: 'token' });
    expect(await client.getParentAccount()).toMatchObject({ kind: 'systemic', reason: 'token-unavailable', httpStatus: 503 });
    expect((await client.getParentAccount()).kind).toBe('succeeded');
    expect(ctx.sim.state.tokenIssuedCount).toBe(1);
    expect(ctx.sim.state.requestCounts.token).toBe(2);
  });

  it('should call a token endpoint timeout systemic within the deadline', async () => {
    const client = makeClient(ctx.sim);
    ctx.sim.state.injectFault({ fault: 'timeout-before-apply', endpoint: 'token' });
    expect(await client.getParentAccount()).toMatchObject({ kind: 'systemic', reason: 'token-unavailable', httpStatus: null });
  });

  it('should send the password grant exactly as documented', async () => {
    const { credentials } = ctx.sim.state;
    const res = await fetch(`${ctx.sim.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        username: ctx.sim.state.credentials.username,
        password: ctx.sim.state.credentials.password,
        grant_type: 'password',
        clientId: ctx.sim.state.credentials.clientId,
      }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      token_type: 'bearer',
      expires_in: 86399,
      scope: 'read write trust',
      access_token: expect.any(String),
    });
  });
});
