import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { isIP, LookupFunction } from 'node:net';

/**
 * Server-side request forgery guard. Whoever holds loads:write chooses where this service POSTs, and the delivery
 * log shows what answered; so, unless WEBHOOK_ALLOW_PRIVATE_URLS=true, a webhook may only reach public addresses,
 * never the network the service runs in (its database, admin ports, the cloud metadata endpoint). The ranges are
 * ipaddr.js's tables of special-purpose addresses (the IANA registries): only plain unicast, and the anycast
 * services AS112 and AMT, are public. See docs/webhooks.md, "SSRF rules".
 */
const PUBLIC_RANGES = new Set(['unicast', 'as112', 'as112v6', 'amt']);

/** How a refused range is named in the error; a range not listed here is "a special-purpose address". */
const KIND_OF_RANGE: Record<string, string> = {
  loopback: 'a loopback address',
  unspecified: 'an unspecified address',
  private: 'a private address',
  uniqueLocal: 'a private address',
  linkLocal: 'a link-local address (where cloud metadata lives)',
  carrierGradeNat: 'a shared (CGNAT) address',
  multicast: 'a multicast address',
  broadcast: 'a reserved or broadcast address',
  reserved: 'a reserved address (documentation, benchmarking or future use)',
};

/** A range ipaddr.js counts as unicast that no public host uses: the deprecated IPv4-compatible form (::127.0.0.1). */
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
/** NAT64 with the well-known prefix (RFC 6052): the IPv4 address is the last 32 bits. 64:ff9b:1::/48 (local use) is not. */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** What kind of refused address `ip` is, or null when it is public. Not an IP at all is refused too. */
export function refusedKind(ip: string): string | null {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''); // URL brackets; a zone id (fe80::1%eth0) from a lookup
  if (isIP(bare) === 0) return 'not an IP address';
  const addr = ipaddr.parse(bare);
  if (addr.kind() === 'ipv6') {
    // IPv6 forms that carry an IPv4 address a gateway will reach (mapped, translated, NAT64, 6to4, Teredo): judged by it.
    const v4 = embeddedIpv4(addr as ipaddr.IPv6);
    if (v4) {
      const inner = refusedKind(v4);
      return inner && `${inner} (${v4} inside ${bare})`;
    }
    if (addr.match(IPV4_COMPATIBLE) && addr.range() === 'unicast') return 'a reserved or broadcast address';
  }
  const range = addr.range();
  return PUBLIC_RANGES.has(range) ? null : (KIND_OF_RANGE[range] ?? 'a special-purpose address');
}

/** The IPv4 address an IPv6 address carries for a gateway to reach, or null. */
function embeddedIpv4(ipv6: ipaddr.IPv6): string | null {
  const b = ipv6.toByteArray();
  const quad = (at: number, mask = 0) =>
    b
      .slice(at, at + 4)
      .map((x) => x ^ mask)
      .join('.');
  switch (ipv6.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d, IPv4-translated
      return quad(12);
    case 'rfc6052':
      return ipv6.match(NAT64_WELL_KNOWN) ? quad(12) : null;
    case '6to4': // 2002:AABB:CCDD::/48
      return quad(2);
    case 'teredo': // 2001:0:server:flags:port:client, the client's IPv4 address with every bit flipped (RFC 4380)
      return quad(12, 0xff);
    default:
      return null;
  }
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
const resolveAll: ResolveAll = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

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
    const addresses = await Promise.race([
      resolve(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
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
