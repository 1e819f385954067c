import { Test } from '@nestjs/testing';
import { EnKashClient } from '../../src/enkash/enkash.client';
import { ENKASH_CONFIG, EnKashModule } from '../../src/enkash/enkash.module';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { captureLogs, CARD, clientConfig, newReference, startSimulator } from './harness';

captureLogs();

describe(EnKashModule.name, () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim.close());

  it('should provide a working EnKashClient on HttpModule and close its sockets with the module', async () => {
    const config = clientConfig(sim);
    const moduleRef = await Test.createTestingModule({ imports: [EnKashModule.register(config)] }).compile();
    await moduleRef.init();
    const client = moduleRef.get(EnKashClient);
    expect(moduleRef.get(ENKASH_CONFIG)).toBe(config);
    const ref = newReference();
    expect(await client.loadCard({ reference: ref, enKashCardId: CARD, amountMinor: 4_200n })).toMatchObject({ kind: 'succeeded' });
    expect(sim.state.appliedCount(ref)).toBe(1);
    await moduleRef.close();
  });

  it('should refuse a configuration without a base URL', () => {
    expect(() => new EnKashClient({ ...clientConfig(sim), baseUrl: null })).toThrow(/baseUrl/);
  });
});
