import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_NAMES, CREDENTIALS } from '../../src/config/app-config';

/**
 * docker-compose.yml checked as data (no Docker engine needed): the services, the one image they share,
 * migrations before the app, and that every variable the app containers get is a name the service reads.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The configuration table of API.md (fixed names). */
const API_MD_NAMES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATA_DIR',
  'ROLE',
  'ADMIN_API_KEY',
  'ENKASH_BASE_URL',
  'ENKASH_TOKEN_URL',
  ...CREDENTIALS, // ENKASH_PARTNER_ID … ENKASH_CARD_ACCOUNT_ID
  'ENKASH_ENCRYPTION',
  'ENKASH_TIMEOUT_MS',
  'ENKASH_LOAD_TYPE',
  'ENKASH_TRANSACTION_CODE',
  'MAX_LOAD_AMOUNT',
];

/** Every name loadConfig reads, taken from its schema so that this test follows the code. */
function namesReadByAppConfig(): Set<string> {
  return new Set(CONFIG_NAMES);
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: Array<string | { target: number; published: number | string }>;
  depends_on?: Record<string, { condition: string }> | string[];
  restart?: string;
  stop_grace_period?: string;
  profiles?: string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const APP_SERVICES = ['migrate', 'api', 'worker-1', 'worker-2', 'enkash-simulator'];

const env = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]))
    : { ...(s.environment ?? {}) };
const command = (s: Service) => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));
const seconds = (d: string) => {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
  if (!m || (!m[1] && !m[2])) throw new Error(`unreadable duration ${d}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
};

describe('docker-compose.yml', () => {
  it('should define Postgres, the migration job, the API, two workers and the EnKash simulator', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'enkash-simulator', 'migrate', 'postgres', 'worker-1', 'worker-2']);
  });

  it('should run Postgres 16 with a pg_isready health check and a named volume', () => {
    const pg = services.postgres;
    expect(pg.image).toMatch(/^postgres:16(\b|$)/);
    expect(JSON.stringify(pg.healthcheck?.test)).toContain('pg_isready');
    const volume = pg.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(volume!.split(':')[0]);
  });

  it('should run every app container from one image built from the Dockerfile', () => {
    const images = new Set(APP_SERVICES.map((n) => services[n].image));
    expect(images.size).toBe(1);
    for (const name of APP_SERVICES) expect(services[name].build).toBeDefined();
  });

  it('should run the migrations once, to completion, before any app process starts', () => {
    const migrate = services.migrate;
    expect(command(migrate)).toBe('node dist/src/database/migrate-cli.js');
    expect(migrate.restart).toBe('no');
    expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['api', 'worker-1', 'worker-2']) {
      expect((services[name].depends_on as Record<string, { condition: string }>).migrate).toEqual({
        condition: 'service_completed_successfully',
      });
    }
  });

  it('should publish the API on 3000 and keep the workers and the simulator on the internal network', () => {
    const api = services.api;
    expect(api.ports).toEqual(['3000:3000']);
    expect(env(api)).toMatchObject({ ROLE: 'api', PORT: '3000', HOST: '0.0.0.0' });
    expect(command(api)).toBe(''); // the image's CMD: node dist/src/main.js
    for (const name of ['worker-1', 'worker-2']) {
      expect(services[name].ports).toBeUndefined();
      expect(env(services[name])).toMatchObject({ ROLE: 'worker', PORT: '3000' });
    }
    expect(services['enkash-simulator'].ports).toBeUndefined();
  });

  it('should start the simulator on 0.0.0.0:4010, only under the "simulator" profile', () => {
    const sim = services['enkash-simulator'];
    expect(command(sim)).toBe('node dist/src/enkash-simulator/main.js --port 4010 --host 0.0.0.0');
    expect(sim.profiles).toEqual(['simulator']);
    // main.ts of the simulator must still accept the flags the compose file passes.
    expect(read('src/enkash-simulator/main.ts')).toMatch(/host: \{ type: 'string'/);
  });

  it('should give app containers only variable names the service reads', () => {
    const readByApp = namesReadByAppConfig();
    for (const name of API_MD_NAMES) expect(readByApp).toContain(name); // the list above still matches the code
    const extras = [...readByApp].filter((n) => n.startsWith('SYNC_') || n.startsWith('AUDIT_') || n === 'LOG_LEVEL');
    const allowed = new Set([...API_MD_NAMES, ...extras]);
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(env(services[name])).filter((n) => !allowed.has(n));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
  });

  it('should point the service at the simulator through ENKASH_BASE_URL and ENKASH_TOKEN_URL', () => {
    for (const name of ['api', 'worker-1', 'worker-2']) {
      const e = env(services[name]);
      expect(e.ENKASH_BASE_URL).toMatch(/^\$\{ENKASH_BASE_URL:\?/);
      expect(e.ENKASH_TOKEN_URL).toMatch(/^\$\{ENKASH_TOKEN_URL:\?/);
    }
    const example = read('.env.example');
    expect(example).toMatch(/^ENKASH_BASE_URL=http:\/\/enkash-simulator:4010$/m);
    expect(example).toMatch(/^ENKASH_TOKEN_URL=http:\/\/enkash-simulator:4010\/oauth\/token$/m);
  });

  it('should read every secret from the environment, never from the file', () => {
    const secret = /PASSWORD|SECRET|ADMIN_API_KEY|SEAL_KEY/;
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(env(s))) {
        if (secret.test(key))
          expect({ name, key, value }).toEqual({ name, key, value: expect.stringMatching(new RegExp(`^\\$\\{${key}:\\?`)) });
      }
      if (env(s).DATABASE_URL) expect(env(s).DATABASE_URL).toContain('${POSTGRES_PASSWORD:?');
    }
    expect(read('docker-compose.yml')).not.toMatch(/ckl_|simulator-client-secret|simulator-password/);
  });

  it('should name in .env.example every variable the compose file interpolates', () => {
    const body = read('docker-compose.yml')
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n');
    const used = new Set([...body.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    const example = read('.env.example');
    for (const name of used) expect({ name, listed: new RegExp(`^#? ?${name}=`, 'm').test(example) }).toEqual({ name, listed: true });
  });

  it('should give every app container a bounded stop grace period longer than the 30 s drain in main.ts', () => {
    expect(read('src/main.ts')).toContain('30_000');
    for (const name of APP_SERVICES) {
      const grace = seconds(services[name].stop_grace_period ?? '0s');
      expect(grace).toBeGreaterThan(30);
      expect(grace).toBeLessThanOrEqual(120);
    }
  });
});
