import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The Dockerfile checked as text: two stages, production dependencies only, a non-root user, no secrets. */
const ROOT = path.resolve(__dirname, '../..');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
/** Instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push([]);
  stages[stages.length - 1]?.push(line);
}
const runtime = stages[stages.length - 1];

describe('Dockerfile', () => {
  it('should build in one stage and run from a second one on node:20-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => /^FROM\s+\S+\s+AS\s+build$/i.test(s[0]));
    expect(build).toBeDefined();
    expect(build).toContain('RUN npm ci --no-audit --no-fund');
    expect(build).toContain('RUN npm run build');
    expect(runtime[0]).toMatch(/^FROM node:20-slim\b/);
    expect(runtime.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtime.some((l) => /^COPY --from=build \/app\/dist /.test(l))).toBe(true);
  });

  it('should run as the non-root user node, with the service as its command', () => {
    const user = runtime.filter((l) => /^USER\s/.test(l));
    expect(user).toEqual(['USER node']);
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.findIndex((l) => l.startsWith('CMD')));
    expect(runtime[runtime.length - 1]).toBe('CMD ["node", "dist/src/main.js"]');
  });

  it("should check liveness on /health/live with node's fetch", () => {
    const check = runtime.find((l) => l.startsWith('HEALTHCHECK'));
    expect(check).toMatch(/fetch\(.*\/health\/live/);
  });

  it('should hold no secrets, in the Dockerfile or in the build context', () => {
    const envAndArgs = instructions.filter((l) => /^(ENV|ARG)\s/.test(l)).join(' ');
    expect(envAndArgs).not.toMatch(/PASSWORD|SECRET|API_KEY|TOKEN|DATABASE_URL/);
    expect(dockerfile).not.toMatch(/ckl_|simulator-client-secret|simulator-password|postgres:\/\//);
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['.env', '.env.*', 'node_modules', 'dist', '.git', '.data']) expect(ignored).toContain(entry);
  });
});
