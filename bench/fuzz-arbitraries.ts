/**
 * fast-check arbitraries derived from the service's OpenAPI document (bench/fuzz.ts): values a schema allows,
 * taken from pools of real ids where a field names one, and values no schema allows (NUL, lone surrogates,
 * huge or malformed numbers, wrong types, deep nesting, long strings), mixed into otherwise valid bodies.
 */
import fc from 'fast-check';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON Schema node, read defensively
type Schema = Record<string, any>;
type Json = unknown;

/** Number tokens JSON.stringify cannot write; marked in the value, spliced into the text by `serialise`. */
const RAW_NUMBERS = [
  '1e400',
  '-0',
  '99999999999999999999999',
  '1E2',
  '0.1e1',
  '-1.5e-3',
  '123456789012345678901234567890.12',
  '9007199254740993',
];
const RAW = (token: string) => `@@raw:${token}@@`;
export const serialise = (value: Json) => JSON.stringify(value).replace(/"@@raw:([^@"]*)@@"/g, '$1');

export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '\ufeff',
  '%00',
  '%ED%A0%80',
  'infinity',
  'NaN',
  'epoch',
  'J2451187',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999Z',
  '2026-02-30',
  '2026-03-05 10:03:00 PST',
  '1e309',
  '-0',
  '15',
  '15.0',
  '0.001',
  '90071992547409.92',
  '200000.01',
  "'; DROP TABLE card_loads; --",
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'EKC0000000',
  'CABFIPS',
  'card:EKCMB7KAEW',
  '\n',
  '\r\n',
  '\t',
  'ñ',
  '🎉',
  'HTTP://93.184.216.34/x',
  ' http://93.184.216.34/x',
  'http:/93.184.216.34/x',
  'http://127.0.0.1:1/x',
  'http://[::1]/',
  'http://169.254.169.254/latest',
  'file:///etc/passwd',
  'https://user:pass@example.com/',
  'javascript:alert(1)',
  'WyIwMDAwLTAxLTAxVDAwOjAwOjAwLjAwMDAwMFoiLCJ4Il0',
];

/** Any UTF-16 code unit, NUL and lone surrogates included. */
const anyUnits = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: anyUnits(40) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

export const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e300, 0.001) },
  { weight: 2, arbitrary: fc.constantFrom<Json>({}, [], [[]], { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } }, Array(1001).fill(1)) },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_NUMBERS).map(RAW) },
);

type Mutation = 'replace' | 'addKey' | 'dropKey' | 'wrap';

type Slot = [holder: Record<string | number, Json>, key: string | number];

/** Breaks one node of a copy of `value` per change: the node picked by position among all nodes, the root included. */
function mutate(value: Json, changes: Array<[pick: number, hostile: Json, kind: Mutation]>): Json {
  const root: Record<string, Json> = { v: structuredClone(value) };
  for (const [pick, hostile, kind] of changes) {
    const slots: Slot[] = [];
    const visit = (holder: Record<string | number, Json>, key: string | number) => {
      slots.push([holder, key]);
      const v = holder[key];
      if (Array.isArray(v)) v.forEach((_, i) => visit(v as unknown as Record<number, Json>, i));
      else if (v && typeof v === 'object') Object.keys(v).forEach((k) => visit(v as Record<string, Json>, k));
    };
    visit(root, 'v');
    const [holder, key] = slots[pick % slots.length];
    const current = holder[key];
    const isObject = current !== null && typeof current === 'object' && !Array.isArray(current);
    if (kind === 'wrap') holder[key] = [current];
    else if (kind === 'dropKey' && isObject) {
      const keys = Object.keys(current);
      if (keys.length) delete (current as Record<string, Json>)[keys[pick % keys.length]];
    } else if (kind === 'addKey' && isObject) {
      const name = typeof hostile === 'string' && hostile.length < 60 ? hostile : `x${pick}`;
      (current as Record<string, Json>)[name] = structuredClone(hostile);
    } else holder[key] = structuredClone(hostile);
  }
  return root.v;
}

/** Percent-encoded text; a lone surrogate (which encodeURIComponent refuses) as WTF-8 bytes, which no UTF-8 decoder accepts. */
export const urlText = (text: string) =>
  text
    .split(/(\p{Cs})/u)
    .map((part, i) => (i % 2 ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');

/** Values for the fields and parameters a document describes; `pool(name)` gives real values where a field names one. */
export class DocumentArbitraries {
  constructor(
    private readonly doc: { components?: { schemas?: Record<string, unknown> } },
    private readonly pool: (name: string) => Json[],
  ) {}

  resolve(s: Schema | undefined): Schema {
    let node = s ?? {};
    for (let i = 0; node.$ref && i < 10; i++) node = this.doc.components?.schemas?.[String(node.$ref).split('/').pop()!] ?? {};
    return node;
  }

  /** What the schema allows (at small sizes); a named field takes a pooled real value three times in four. */
  valid(schema: Schema | undefined, name?: string, depth = 0): fc.Arbitrary<Json> {
    const own = this.fromSchema(this.resolve(schema), depth);
    const pooled = name ? this.pool(name) : [];
    return pooled.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pooled) }, { weight: 1, arbitrary: own }) : own;
  }

  /** Mostly valid, often with one to three nodes broken: replaced, wrapped, a key dropped or an unknown one added. */
  body(schema: Schema | undefined): fc.Arbitrary<Json> {
    const change = fc.tuple(fc.nat(), hostileValue, fc.constantFrom<Mutation>('replace', 'replace', 'addKey', 'dropKey', 'wrap'));
    const broken = fc.tuple(this.valid(schema), fc.array(change, { minLength: 1, maxLength: 3 })).map(([v, changes]) => mutate(v, changes));
    return fc.oneof({ weight: 5, arbitrary: this.valid(schema) }, { weight: 5, arbitrary: broken });
  }

  /** A parameter's value as URL text: valid, hostile, or not valid percent-encoding at all. */
  param(schema: Schema | undefined, name: string): fc.Arbitrary<string> {
    const asText = (v: Json) => urlText(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
    return fc.oneof(
      { weight: 6, arbitrary: this.valid(schema, name).map(asText) },
      { weight: 3, arbitrary: hostileString.map(asText) },
      { weight: 1, arbitrary: fc.constantFrom('%ED%A0%80', '%zz', '%', '%C0%80', '%FF') },
    );
  }

  private fromSchema(s: Schema, depth: number): fc.Arbitrary<Json> {
    if (depth > 5) return fc.constant(null);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as Json[]));
    const alternatives = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
    if (alternatives) return fc.oneof(...alternatives.map((a) => this.valid(a, undefined, depth + 1)));
    if (s.allOf) return this.object(this.merged(s.allOf as Schema[]), depth);
    switch (s.type) {
      case 'string':
        return this.string(s);
      case 'integer':
        return fc.integer({ min: s.minimum ?? 0, max: s.maximum ?? 1_000_000 });
      case 'number':
        return s.multipleOf === 0.01
          ? fc.integer({ min: 1, max: 20_000_000 }).map((n) => n / 100)
          : fc.double({ noNaN: true, min: -1e6, max: 1e6 });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(this.valid(s.items, undefined, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
      case 'object':
        return this.object(s, depth);
      default:
        return s.properties ? this.object(s, depth) : fc.constant({});
    }
  }

  private string(s: Schema): fc.Arbitrary<string> {
    if (s.format === 'uuid') return fc.uuid();
    if (s.format === 'date-time') {
      return fc
        .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
        .map((d) => d.toISOString());
    }
    if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length <= (s.maxLength ?? 300));
    return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
  }

  private merged(parts: Schema[]): Schema {
    const all = parts.map((p) => this.resolve(p));
    const properties = Object.assign({}, ...all.map((p) => p.properties ?? {}));
    return { type: 'object', required: all.flatMap((p) => p.required ?? []), properties };
  }

  private object(s: Schema, depth: number): fc.Arbitrary<Json> {
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    if (Object.keys(properties).length === 0 && s.additionalProperties) {
      const value =
        typeof s.additionalProperties === 'object'
          ? this.valid(s.additionalProperties, undefined, depth + 1)
          : fc.string({ maxLength: 20 });
      return fc.dictionary(fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/), value, { maxKeys: Math.min(s.maxProperties ?? 5, 5) });
    }
    const arbitraries = Object.fromEntries(Object.entries(properties).map(([k, p]) => [k, this.valid(p, k, depth + 1)]));
    return fc.record(arbitraries, { requiredKeys: (s.required ?? []).filter((k: string) => k in properties) });
  }
}
