import { refusedKind } from '../../src/webhooks/webhook-target-guard';

/**
 * The guard's ranges are ipaddr.js's special-purpose tables (docs/webhooks.md, "SSRF rules"). These are the edges
 * where they differ from the hand-written tables they replaced, and the IPv6 forms that carry an IPv4 address.
 */
describe('webhook target ranges (ipaddr.js)', () => {
  it.each([
    // IPv4-mapped and IPv4-translated IPv6: judged by the IPv4 address inside.
    ['::ffff:127.0.0.1', /^a loopback address \(127\.0\.0\.1 inside/],
    ['::ffff:169.254.169.254', /^a link-local address .*169\.254\.169\.254 inside/],
    ['::ffff:0:a00:1', /^a private address \(10\.0\.0\.1 inside/],
    // NAT64 with the well-known prefix, and the local-use prefix whose embedding is unknown.
    ['64:ff9b::7f00:1', /^a loopback address \(127\.0\.0\.1 inside/],
    ['64:ff9b:1::a00:1', /^a special-purpose address$/],
    // 6to4 and, new with the library, Teredo (the client's IPv4 address with every bit flipped).
    ['2002:c0a8:101::1', /^a private address \(192\.168\.1\.1 inside/],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', /^a private address \(10\.0\.0\.1 inside/],
    // Ranges the old tables let through: documentation, benchmarking and discard-only addresses.
    ['192.0.2.1', /^a reserved address/],
    ['203.0.113.9', /^a reserved address/],
    ['2001:db8::1', /^a reserved address/],
    ['2001:2::1', /^a special-purpose address$/],
    ['100::1', /^a special-purpose address$/],
    // Still refused as before.
    ['::7f00:1', /^a reserved or broadcast address$/],
    ['255.255.255.255', /^a reserved or broadcast address$/],
    ['fec0::1', /^a special-purpose address$/],
    ['fe80::1%eth0', /^a link-local address/],
    ['not-an-ip', /^not an IP address$/],
  ])('should refuse %s', (ip, kind) => {
    expect(refusedKind(ip)).toMatch(kind);
  });

  it.each([
    '93.184.215.14',
    '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
    '::ffff:93.184.215.14',
    '64:ff9b::808:808',
    '2002:5db8:d70e::1',
    '2001:0:4136:e378:8000:63bf:a247:f4f1', // Teredo for 93.184.11.14
    '192.175.48.1', // AS112: public anycast
  ])('should let %s through', (ip) => {
    expect(refusedKind(ip)).toBeNull();
  });
});
