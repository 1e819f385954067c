import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { BlockList, isIP, LookupFunction } from 'node:net';

/**
 * Server-side request forgery guard. Whoever holds loads:write chooses where this service POSTs, and the delivery
 * log shows what answered; so, unless WEBHOOK_ALLOW_PRIVATE_URLS=true, a webhook may only reach public addresses,
 * never the network the service runs in (its database, admin ports, the cloud metadata endpoint).
 * BlockList also matches IPv4-mapped IPv6 forms (::ffff:127.0.0.1) against the IPv4 ranges.
 */
const REFUSED: Array<[kind: string, ranges: string[]]> = [
  ['a loopback address', ['127.0.0.0/8', '::1/128']],
  ['an unspecified address', ['0.0.0.0/8', '::/128']],
  ['a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
  ['a link-local address (where cloud metadata lives)', ['169.254.0.0/16', 'fe80::/10']],
  ['a shared (CGNAT) address', ['100.64.0.0/10']],
  ['a special-purpose address', ['192.0.0.0/24', '198.18.0.0/15', 'fec0::/10', '64:ff9b:1::/48']],
  ['a multicast address', ['224.0.0.0/4', 'ff00::/8']],
  // 240/4 holds the broadcast address; ::/96 the deprecated IPv4-compatible form (::127.0.0.1).
  ['a reserved or broadcast address', ['240.0.0.0/4', '::/96']],
];

const LISTS = REFUSED.map(([kind, ranges]) => {
  const list = new BlockList();
  for (const range of ranges) {
    const [net, bits] = range.split('/');
    list.addSubnet(net, Number(bits), isIP(net) === 4 ? 'ipv4' : 'ipv6');
  }
  return { kind, list };
});

/** What kind of refused address `ip` is, or null when it is public. Not an IP at all is refused too. */
export function refusedKind(ip: string): string | null {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''); // URL brackets; a zone id (fe80::1%eth0) from a lookup
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  const kind = LISTS.find((l) => l.list.check(bare, family === 4 ? 'ipv4' : 'ipv6'))?.kind ?? null;
  if (kind || family === 4) return kind;
  // IPv6 forms that carry an IPv4 address a gateway will reach (NAT64, 6to4, IPv4-translated): judged by that address.
  const v4 = embeddedIpv4(bare);
  const inner = v4 ? refusedKind(v4) : null;
  return inner && `${inner} (${v4} inside ${bare})`;
}

/** The IPv4 address inside 64:ff9b::/96 (NAT64), ::ffff:0:0/96 (translated) or 2002::/16 (6to4), or null. */
function embeddedIpv4(ipv6: string): string | null {
  const w = ipv6Words(ipv6);
  if (!w) return null;
  const quad = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)) return quad(w[6], w[7]);
  if (w.slice(0, 4).every((x) => x === 0) && w[4] === 0xffff && w[5] === 0) return quad(w[6], w[7]);
  if (w[0] === 0x2002) return quad(w[1], w[2]);
  return null;
}

/** The eight 16-bit words of an IPv6 address (with "::" and a trailing dotted quad expanded), or null. */
function ipv6Words(ipv6: string): number[] | null {
  let text = ipv6.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const part = (x: string | undefined) => (x ? x.split(':').map((h) => parseInt(h, 16)) : []);
  const hi = part(head);
  const lo = part(tail);
  const words = tail === undefined ? hi : [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  return words.length === 8 && words.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? words : null;
}

/** Never looked up: they mean this machine whatever DNS says (RFC 6761). */
const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

/** Why a URL's host is refused without any lookup (an IP literal in a refused range, a localhost name), or null. */
export function refusedHost(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isLocalhostName(host)) return `${host} is a loopback name`;
  if (isIP(host) === 0) return null;
  const kind = refusedKind(host);
  return kind && `${host} is ${kind}`;
}

export type ResolveAll = (host: string) => Promise<LookupAddress[]>;
const resolveAll: ResolveAll = (host) => new Promise((resolve, reject) =>
  dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

const ALLOW_HINT = 'allowed only with WEBHOOK_ALLOW_PRIVATE_URLS=true';

/**
 * The problem with a webhook URL at subscription, or null: its host must be public now. A name is refused when
 * any address it resolves to is refused (a mix is how DNS rebinding starts), and when it does not resolve at all.
 * Delivery checks again on every connection (guardedLookup): DNS may change after this.
 */
export async function checkWebhookUrl(url: string, timeoutMs: number, resolve: ResolveAll = resolveAll): Promise<string | null> {
  const host = new URL(url).hostname;
  const refused = refusedHost(host);
  if (refused) return `must reach a public address: ${refused} (${ALLOW_HINT})`;
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const addresses = await Promise.race([resolve(host), new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    })]);
    for (const a of addresses) {
      const kind = refusedKind(a.address);
      if (kind) return `must reach a public address: ${host} resolves to ${a.address}, ${kind} (${ALLOW_HINT})`;
    }
    return addresses.length > 0 ? null : `must resolve: ${host} has no address`;
  } catch (e) {
    return `must resolve: ${host} does not resolve (${(e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e))})`;
  } finally {
    clearTimeout(timer);
  }
}

/** A connection the guard stopped: nothing was sent. */
export class RefusedTargetError extends Error {
  readonly code = 'EWEBHOOKREFUSED';
}

/**
 * A socket `lookup` that hands back only permitted addresses, so the check applies to the very address connected
 * to, at every connection (after any DNS change since subscription). Any refused answer refuses them all, as at
 * subscription. IP literals never reach a lookup: the sender checks them with refusedHost.
 */
export function guardedLookup(lookup: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    const refusedName = refusedHost(hostname);
    if (refusedName) return callback(new RefusedTargetError(refusedName), '');
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const refused = addresses.map((a) => ({ a, kind: refusedKind(a.address) })).find((x) => x.kind);
      if (refused) return callback(new RefusedTargetError(`${hostname} resolves to ${refused.a.address}, ${refused.kind}`), '');
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
