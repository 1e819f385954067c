import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { signWebhook, verifyWebhookSignature } from '../../src/webhooks/webhook-signature';

type Verify = typeof verifyWebhookSignature;

/** The TypeScript snippet of docs/webhooks.md, compiled and loaded, so the documentation cannot drift from what we sign. */
function documentedVerifier(): Verify {
  const doc = readFileSync(path.resolve(__dirname, '../../docs/webhooks.md'), 'utf8');
  const snippet = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!snippet) throw new Error('docs/webhooks.md has no ts snippet');
  const js = ts.transpileModule(snippet, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const mod: { exports: Record<string, unknown> } = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- running the README's snippet as a reader would is the test
  new Function('require', 'module', 'exports', js)(require, mod, mod.exports);
  return mod.exports.verifyWebhookSignature as Verify;
}

describe('webhook signatures', () => {
  const secret = 'whsec_test-secret';
  const body = JSON.stringify({ id: 'e1', type: 'card_load.posted', data: { amount: '1500.00' } });
  const t = 1_767_000_000;

  it.each([
    ['the shipped helper', verifyWebhookSignature],
    ['the docs/webhooks.md snippet', documentedVerifier()],
  ])('should accept a genuine signature and refuse tampering, another secret and a stale timestamp (%s)', (_name, verify) => {
    const header = signWebhook(secret, body, t);
    expect(header).toMatch(/^t=1767000000,v1=[0-9a-f]{64}$/);
    expect(verify(body, header, secret, 300, t + 10)).toBe(true);
    expect(verify(Buffer.from(body), header, secret, 300, t)).toBe(true);
    expect(verify(body.replace('1500.00', '9500.00'), header, secret, 300, t)).toBe(false);
    expect(verify(body, header, 'whsec_other', 300, t)).toBe(false);
    expect(verify(body, header, secret, 300, t + 301)).toBe(false);
    expect(verify(body, header, secret, 600, t + 301)).toBe(true);
    expect(verify(body, header.replace(`t=${t}`, `t=${t + 1}`), secret, 300, t)).toBe(false);
    expect(verify(body, undefined, secret)).toBe(false);
    expect(verify(body, 'garbage', secret, 300, t)).toBe(false);
    // A rotated-in second signature alongside a wrong one still verifies.
    expect(verify(body, `${header},v1=${'0'.repeat(64)}`, secret, 300, t)).toBe(true);
    // During a secret rotation: one v1 per secret, new first; either secret verifies, no other does.
    const rotating = signWebhook([secret, 'whsec_old'], body, t);
    expect(rotating).toBe(`${header},${signWebhook('whsec_old', body, t).slice(`t=${t},`.length)}`);
    expect([verify(body, rotating, secret, 300, t), verify(body, rotating, 'whsec_old', 300, t)]).toEqual([true, true]);
    expect(verify(body, rotating, 'whsec_other', 300, t)).toBe(false);
  });
});
