import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { QuiverError } from '@quiver/core';

/** Resolves a host name to every address it has (the shape of `dns.lookup` with `all: true`). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/** Addresses a webhook may not reach unless allowed: private, loopback, link-local, shared, reserved. */
const BLOCKED_V4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;
const BLOCKED_V6 = [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const;

/** An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is checked as the IPv4 address it is. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * Where webhooks may go. Every address a target resolves to is checked — when an automation is
 * made and again when its webhook connects (so a name that later resolves elsewhere, DNS
 * rebinding, is caught) — against the private, loopback and link-local ranges; `allow` lists the
 * addresses or CIDR ranges that may be reached anyway (a local receiver, the tests).
 */
export class EgressPolicy {
  private readonly blocked = new BlockList();
  private readonly allowed = new BlockList();
  readonly allowList: readonly string[];

  constructor(
    options: {
      /** Addresses or CIDR ranges (`127.0.0.1`, `10.1.0.0/16`, `::1`) that may be reached. */
      allow?: readonly string[];
      resolve?: Resolver;
    } = {},
  ) {
    for (const [network, prefix] of BLOCKED_V4) this.blocked.addSubnet(network, prefix, 'ipv4');
    for (const [network, prefix] of BLOCKED_V6) this.blocked.addSubnet(network, prefix, 'ipv6');
    this.allowList = options.allow ?? [];
    for (const entry of this.allowList) {
      const [network, bits] = entry.trim().split('/');
      const family = isIP(network ?? '');
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
        throw new QuiverError(
          'E_INVALID_ENV',
          `QUIVER_WEBHOOK_ALLOW lists addresses or CIDR ranges separated by commas (127.0.0.1/32,::1); '${entry}' is neither.`,
        );
      this.allowed.addSubnet(network!, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
    this.resolve = options.resolve ?? systemResolver;
  }

  private readonly resolve: Resolver;

  /** Whether the policy lets a webhook reach `address`. */
  permits(address: string): boolean {
    const { address: checked, family } = normalise(address);
    if (this.allowed.check(checked, family)) return true;
    if (family === 'ipv6' && /^::ffff:/i.test(checked)) return false;
    return !this.blocked.check(checked, family);
  }

  private refusal(host: string, address: string): QuiverError {
    return new QuiverError(
      'E_TARGET_REFUSED',
      `The webhook target ${host} resolves to ${address}, a private, loopback or link-local address this server does not send to. Use a public address, or list it in the server's QUIVER_WEBHOOK_ALLOW.`,
      { details: { host, address } },
    );
  }

  /** The addresses `host` resolves to, each permitted, or the refusal naming the one that is not. */
  async addressesOf(host: string): Promise<LookupAddress[]> {
    const bare = host.startsWith('[') ? host.slice(1, -1) : host;
    let addresses: LookupAddress[];
    if (isIP(bare) !== 0) addresses = [{ address: bare, family: isIP(bare) }];
    else {
      try {
        addresses = await this.resolve(bare);
      } catch (error) {
        throw new QuiverError(
          'E_TARGET_REFUSED',
          `The webhook target ${bare} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the URL.`,
          { details: { host: bare } },
        );
      }
    }
    if (addresses.length === 0)
      throw new QuiverError('E_TARGET_REFUSED', `The webhook target ${bare} resolves to no address.`);
    for (const { address } of addresses) if (!this.permits(address)) throw this.refusal(bare, address);
    return addresses;
  }

  /**
   * A `lookup` for sockets (undici's `connect` options): resolves through the policy, so the
   * address connected to is the address checked.
   */
  readonly lookup = (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    this.addressesOf(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted === 0 ? addresses : addresses.filter((entry) => entry.family === wanted);
        if (usable.length === 0) {
          callback(
            Object.assign(new Error(`${hostname} has no IPv${wanted} address`), { code: 'ENOTFOUND' }),
            '',
            0,
          );
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}

/** Reads `QUIVER_WEBHOOK_ALLOW` (comma-separated addresses or CIDR ranges). */
export function allowListFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
