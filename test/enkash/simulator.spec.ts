import { decryptEnKashBody, deriveEnKashKey, encryptEnKashBody } from '../../src/enkash/enkash.crypto';
import { RunningSimulator, startEnKashSimulator } from '../../src/enkash-simulator/simulator';
import { SimulatorCipher } from '../../src/enkash-simulator/simulator-crypto';
import { SimulatorState } from '../../src/enkash-simulator/simulator-state';
import { admin, captureLogs, CARD, startSimulator } from './harness';

captureLogs();

const API = '/api/v0/partner/enKashCard';

describe('EnKash simulator', () => {
  let sim: RunningSimulator;
  let token: string;

  const login = (overrides: Record<string, string> = {}, basic?: string) =>
    fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization:
          basic ?? `Basic ${Buffer.from(`${sim.state.credentials.clientId}:${sim.state.credentials.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        username: '9999999999',
        password: 'simulator-password',
        grant_type: 'password',
        clientId: 'CEKEP5GSGP',
        ...overrides,
      }).toString(),
    });
  /** A raw card call with the JSON text given verbatim, so number literals reach the simulator as written. */
  const post = async (path: string, text: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sim.url}${API}${path}`, {
      method: 'POST',
      body: text,
      headers: { authorization: `Bearer ${token}`, partnerId: 'CRMXWB3ZM', 'content-type': 'application/json', ...headers },
    });
    return { status: res.status, text: await res.text() };
  };
  const loadText = (amount: string, extra = '') =>
    `{"enKashCardId":"${CARD}","amount":${amount},"transactionType":"CR","uniqueReferenceNumber":"R-${amount}"${extra}}`;

  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim.close());
  beforeEach(async () => {
    sim.state.reset();
    token = ((await (await login()).json()) as { access_token: string }).access_token;
  });

  it('should answer a load with exactly the documented success envelope and move the money', async () => {
    expect(await post('/balance', loadText('1500.10'))).toEqual({
      status: 200,
      text: '{"code":0,"message":"Success","payload":"Funds allocated from Parent Account to Card by Admin successful"}',
    });
    expect(sim.state.cardBalanceMinor(CARD)).toBe(150_010n);
    expect(sim.state.parentBalanceMinor).toBe(10_000_000_000n - 150_010n);
  });

  it.each([
    ['{"amount":1,"transactionType":"CR"}', 400, 'enKashCardId is required'],
    [`{"enKashCardId":"${CARD}","transactionType":"CR"}`, 400, 'amount is required'],
    [`{"enKashCardId":"${CARD}","amount":"1.00","transactionType":"CR"}`, 400, 'amount must be a number'],
    [loadText('0.001'), 422, 'amount must be a number with at most 2 decimal places'],
    [loadText('0.30000000000000004'), 422, 'amount must be a number with at most 2 decimal places'],
    [loadText('1e2'), 422, 'amount must be a number with at most 2 decimal places'],
    [loadText('0'), 422, 'amount must be at least 0.01'],
    [loadText('-5'), 422, 'amount must be at least 0.01'],
    [loadText('1').replace('"CR"', '"DR"'), 422, 'Invalid transactionType: only CR is allowed for this card'],
  ])('should refuse %s with %s', async (text, status, message) => {
    const res = await post('/balance', text);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.text)).toMatchObject({ code: 1, message });
    expect(sim.state.records()).toHaveLength(0);
  });

  it('should answer 200 code 1 without applying when the parent is underfunded', async () => {
    sim.state.setConfig({ parentBalanceMinor: 99n });
    const res = await post('/balance', loadText('1.00'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ code: 1, message: 'Insufficient balance in card account' });
    expect(sim.state.parentBalanceMinor).toBe(99n);
  });

  it('should check the bearer and the partnerId', async () => {
    expect((await post('/search', `{"enKashCardId":"${CARD}"}`, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post('/search', `{"enKashCardId":"${CARD}"}`, { partnerId: 'CRWRONG' })).status).toBe(403);
    expect((await post('/search', '{"enKashCardId":')).status).toBe(400);
    expect((await post('/search', `{"enKashCardId":"${CARD}"}`)).status).toBe(200);
  });

  it('should expire tokens after tokenTtlSeconds', () => {
    let nowMs = 1_000_000;
    const s = new SimulatorState({ tokenTtlSeconds: 60 }, {}, () => nowMs);
    const basic = `Basic ${Buffer.from('CEKEP5GSGP:simulator-client-secret').toString('base64')}`;
    const issued = s.login(basic, {
      username: '9999999999',
      password: 'simulator-password',
      grant_type: 'password',
      clientId: 'CEKEP5GSGP',
    });
    expect(issued.body).toMatchObject({ expires_in: 60 });
    const bearer = `Bearer ${String(issued.body.access_token)}`;
    nowMs += 59_999;
    expect(s.isValidBearer(bearer)).toBe(true);
    nowMs += 1;
    expect(s.isValidBearer(bearer)).toBe(false);
  });

  it('should lock logins after 3 consecutive failures until unlocked', async () => {
    expect((await login({ password: 'bad' })).status).toBe(401);
    expect((await login({}, 'Basic Zm9vOmJhcg==')).status).toBe(401);
    expect((await login({ grant_type: 'client_credentials' })).status).toBe(400);
    const locked = await login();
    expect(locked.status).toBe(401);
    expect(await locked.json()).toMatchObject({ error_description: expect.stringMatching(/locked/) });
    expect((await admin(sim, 'GET', '/state')).json).toMatchObject({ failedLoginCount: 4, locked: true, tokenIssuedCount: 1 });
    await admin(sim, 'POST', '/unlock');
    expect((await login()).status).toBe(200);
  });

  it('should speak the AES envelope: a known vector, our own round trip, and 422 on bad ciphertext', async () => {
    // Computed independently: printf '{"amount":0.3}' | openssl enc -aes-128-ecb -K <sha256(secret)[0..16]> -base64
    const key = deriveEnKashKey('simulator-client-secret');
    expect(key.toString('hex')).toBe('c1b121d6e807a8e0fdf94fdfc4ff4261');
    expect(encryptEnKashBody('{"amount":0.3}', key)).toBe('4w5sRZcBM98iF4+ZTH1vug==');
    expect(new SimulatorCipher('simulator-client-secret').open('4w5sRZcBM98iF4+ZTH1vug==')).toBe('{"amount":0.3}');

    sim.state.setConfig({ encryption: true });
    const sealed = await post('/balance', JSON.stringify({ request: encryptEnKashBody(loadText('2.50'), key) }));
    expect(sealed.status).toBe(200);
    expect(JSON.parse(decryptEnKashBody(JSON.parse(sealed.text).request, key))).toMatchObject({ code: 0 });
    expect(sim.state.records()[0]).toMatchObject({ amountText: '2.50', amountMinor: 250n });
    for (const bad of ['{"request":"not base64!"}', '{"request":"AAAA"}', loadText('1')]) {
      expect(await post('/balance', bad)).toEqual({ status: 422, text: '{"code":1,"message":"Invalid encrypted request"}' });
    }
  });

  it('should shape lookups as configured and hide records for the lag', async () => {
    await post('/balance', loadText('7.00'));
    const find = async () => JSON.parse((await post('/transaction/all', '{"pgReferenceNumber":"R-7.00"}')).text);
    expect((await find()).payload).toEqual([
      expect.objectContaining({
        pgReferenceNumber: 'R-7.00',
        principalAmount: 7,
        status: 'SUCCESS',
        currency: 'INR',
        cardTransactionType: 'CREDIT',
      }),
    ]);
    sim.state.setConfig({ lookupShape: 'content', envelope: 'response_code' });
    expect(await find()).toMatchObject({ response_code: 0, payload: { content: [expect.anything()], totalElements: 1 } });
    sim.state.setConfig({ lookupShape: 'single', envelope: 'code', lookupLagMs: 60_000 });
    expect((await find()).payload).toBeNull();
  });

  it('should serve the admin API', async () => {
    expect((await admin(sim, 'PATCH', '/config', { duplicateMode: 'sideways' })).status).toBe(400);
    expect((await admin(sim, 'PATCH', '/config', { colour: 'red' })).status).toBe(400);
    const cfg = await admin(sim, 'PATCH', '/config', {
      duplicateMode: 'reject',
      latencyMs: 1,
      parentBalance: '1000.55',
      failureFaults: ['reset'],
    });
    expect(cfg).toMatchObject({ status: 200, json: { duplicateMode: 'reject', latencyMs: 1, failureFaults: ['reset'] } });
    expect((await admin(sim, 'GET', '/state')).json).toMatchObject({ parentBalance: '1000.55' });

    expect((await admin(sim, 'POST', '/apply', { reference: 'R-X', enKashCardId: CARD, amount: 0.3 })).json).toMatchObject({ count: 1 });
    expect((await admin(sim, 'GET', '/applied/R-X')).json).toEqual({ reference: 'R-X', count: 1, amounts: ['0.30'] });
    expect((await admin(sim, 'POST', '/records/R-X/status', { status: 'reversed' })).json).toEqual({ reference: 'R-X', changed: 1 });
    expect((await admin(sim, 'GET', '/records')).json).toEqual([
      expect.objectContaining({ pgReferenceNumber: 'R-X', status: 'REVERSED', principalAmount: '0.30', planted: true }),
    ]);
    expect((await admin(sim, 'POST', '/records/NOPE/status', { status: 'REVERSED' })).status).toBe(400);

    expect((await admin(sim, 'POST', '/faults', { fault: 'http-503', count: 2, endpoint: 'search' })).json.pendingFaults).toHaveLength(1);
    expect((await post('/search', `{"enKashCardId":"${CARD}"}`)).status).toBe(503);
    await admin(sim, 'DELETE', '/faults');
    expect((await post('/search', `{"enKashCardId":"${CARD}"}`)).status).toBe(200);
    expect((await admin(sim, 'POST', '/faults', { fault: 'melt' })).status).toBe(400);

    await admin(sim, 'POST', '/tokens/revoke');
    expect((await post('/search', `{"enKashCardId":"${CARD}"}`)).status).toBe(401);
    await admin(sim, 'POST', '/reset');
    expect((await admin(sim, 'GET', '/state')).json).toMatchObject({
      recordCount: 0,
      tokenIssuedCount: 0,
      parentBalance: '100000000.00',
      config: { duplicateMode: 'apply-again' },
    });
  });

  it('should hit only the reference a fault names', async () => {
    sim.state.injectFault({ fault: 'http-500', reference: 'R-2.00' });
    expect((await post('/balance', loadText('1.00'))).status).toBe(200);
    expect((await post('/balance', loadText('2.00'))).status).toBe(500);
    expect((await post('/balance', loadText('2.00'))).status).toBe(200);
  });

  it('should replay the same random faults for the same seed', () => {
    const draw = (seed: number) => {
      const s = new SimulatorState({ failureRate: 0.3, seed });
      return Array.from({ length: 40 }, () => s.takeFault('balance', null)?.fault ?? '-').join(',');
    };
    expect(draw(7)).toBe(draw(7));
    expect(draw(7)).not.toBe(draw(8));
    expect(draw(7)).toMatch(/[a-z]-?[a-z]/);
  });

  it('should close at once even with a request held by a timeout fault', async () => {
    const own = await startEnKashSimulator({ port: 0, hangMs: 30_000, latencyMs: 10_000 });
    const tok = own.state.login(`Basic ${Buffer.from('CEKEP5GSGP:simulator-client-secret').toString('base64')}`, {
      username: '9999999999',
      password: 'simulator-password',
      grant_type: 'password',
      clientId: 'CEKEP5GSGP',
    }).body.access_token;
    own.state.setConfig({ latencyMs: 0 });
    own.state.injectFault({ fault: 'timeout-after-apply' });
    const headers = { authorization: `Bearer ${String(tok)}`, partnerId: 'CRMXWB3ZM', 'content-type': 'application/json' };
    const held = fetch(`${own.url}${API}/balance`, { method: 'POST', headers, body: loadText('1.00') }).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await held).toBe('dropped');
    expect(own.state.appliedCount('R-1.00')).toBe(1);
  });
});
