import { deriveEnKashKey } from '../../src/enkash/enkash.crypto';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { captureLogs, CARD, clientConfig, closeClients, makeClient, newReference, startSimulator } from './harness';

const logs = captureLogs();

describe('EnKashClient secrecy', () => {
  let sim: RunningSimulator;
  const written: string[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ credentials: { clientSecret: 'sEcReT-client-2f9c', password: 'pAsSwOrD-77x1' } });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    closeClients();
    await sim.close();
  });

  it('should keep secrets, tokens and full card ids out of every log line and outcome', async () => {
    // Anything written to the terminal by any means, not only through the Nest Logger.
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
        written.push(String(chunk));
        return original(chunk, ...rest);
      }) as typeof stream.write);
    }
    const cfg = clientConfig(sim, { clientSecret: 'sEcReT-client-2f9c', password: 'pAsSwOrD-77x1' });
    const client = makeClient(sim, cfg);
    const outcomes: unknown[] = [];
    const load = async () => outcomes.push(await client.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n }));

    await load();
    for (const fault of ['timeout-before-apply', 'reset', 'http-500', 'html-502', 'no-code', 'http-403', 'http-404'] as const) {
      sim.state.injectFault({ fault });
      await load();
    }
    sim.state.revokeTokens();
    await load();
    sim.state.injectFault({ fault: 'http-401', count: 2 });
    await load();
    sim.state.setConfig({ encryption: true });
    await load();
    const sealed = makeClient(sim, { ...cfg, encryption: true });
    outcomes.push(await sealed.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n }));
    outcomes.push(await sealed.findLoadByReference(newReference(), { enKashCardId: CARD }));
    sim.state.setConfig({ encryption: false, parentBalanceMinor: 0n });
    await load();
    const wrong = makeClient(sim, { ...cfg, password: 'wRoNg-pass-93k' });
    outcomes.push(await wrong.getParentAccount(), await wrong.getParentAccount());
    sim.state.injectFault({ fault: 'http-500', endpoint: 'token' });
    outcomes.push(await makeClient(sim, cfg).getCard(CARD));

    const key = deriveEnKashKey(cfg.clientSecret);
    const secrets = [
      cfg.clientSecret,
      cfg.password,
      'wRoNg-pass-93k',
      Buffer.from(`${cfg.clientId}:${cfg.clientSecret}`).toString('base64'),
      key.toString('hex'),
      key.toString('base64'),
      ...sim.state.issuedTokens(),
    ];
    expect(sim.state.issuedTokens().length).toBeGreaterThanOrEqual(3);
    const outcomeText = JSON.stringify(outcomes, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    const everything = [...logs.lines, ...written, outcomeText].join('\n');
    expect(logs.lines.length).toBeGreaterThan(10);
    for (const s of secrets) expect(everything.includes(s)).toBe(false);
    expect(logs.lines.join('\n')).not.toContain(CARD);
    expect(logs.lines.join('\n')).toContain('EKC****AEW');
    expect(everything).not.toMatch(/Bearer [A-Za-z0-9_-]{8}/);
  });
});
