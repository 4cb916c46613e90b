import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { addressProblem, hostnameProblem, type UrlPolicy, urlProblem } from './address-policy.js';

/** Resolves a host name to every address it has (dns.lookup by default; tests inject their own). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface OutboundGuardOptions extends UrlPolicy {
  resolve?: Resolve;
  /** Idle keep-alive sockets per origin are reused: each was checked when it was opened. */
  connections?: number;
}

/** Thrown (as the connect error) when a name resolves to an address Ferry must not reach. */
export class RefusedAddressError extends Error {
  readonly code = 'ERR_FERRY_REFUSED_ADDRESS';
  constructor(hostname: string, address: string, problem: string) {
    super(`${hostname} resolves to ${address}, a ${problem} address Ferry does not connect to`);
    this.name = 'RefusedAddressError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The SSRF guard for every URL a workspace makes Ferry call. Two halves:
 * - `check(url)` before saving a URL: the static rules (https, no credentials, no private literal or
 *   local name) and, for a name, its current answers;
 * - `dispatcher`, which every request to such a URL goes through: its connect-time lookup resolves the
 *   name, refuses it if any answer is a refused address, and hands the socket exactly the addresses it
 *   checked. The socket connects to what was checked, so a second DNS answer (rebinding) cannot swap
 *   in a private address; TLS SNI and Host stay the URL's name.
 * With ALLOW_PRIVATE_URLS both halves let everything through (local development, the demo, tests).
 */
export class OutboundGuard {
  readonly dispatcher: Dispatcher;
  private readonly resolve: Resolve;

  constructor(private readonly options: OutboundGuardOptions) {
    this.resolve = options.resolve ?? systemResolve;
    const connector = buildConnector({
      lookup: (hostname: string, lookupOptions: { all?: boolean }, callback: LookupCallback) => this.lookup(hostname, lookupOptions, callback),
    } as buildConnector.BuildOptions);
    // An address literal never reaches the lookup (the socket needs no name resolved): judged here.
    const connect: buildConnector.connector = (connectOptions, callback) => {
      const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
      const problem = !options.allowPrivateUrls && isIP(host) ? addressProblem(host) : null;
      if (problem) {
        callback(new RefusedAddressError(host, host, problem), null);
        return;
      }
      connector(connectOptions, callback);
    };
    this.dispatcher = new Agent({ connections: options.connections ?? 64, connect });
  }

  get allowPrivateUrls(): boolean {
    return this.options.allowPrivateUrls;
  }

  /** The static problem of a URL (no lookup), or null. */
  urlProblem(url: string): string | null {
    return urlProblem(url, this.options);
  }

  /**
   * The problem of a URL about to be saved, or null: the static rules, then the name's current
   * answers. A name that does not resolve (yet) is accepted: it is checked again at every connection.
   */
  async check(url: string): Promise<string | null> {
    const problem = this.urlProblem(url);
    if (problem || this.options.allowPrivateUrls) return problem;
    const hostname = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(hostname)) return null;
    let answers: LookupAddress[];
    try {
      answers = await this.resolve(hostname);
    } catch {
      return null;
    }
    const refused = answers.map((answer) => addressProblem(answer.address)).find((p): p is string => p !== null);
    return refused ? `must point at a public address (the name resolves to a ${refused} address)` : null;
  }

  /** The addresses a connection to `hostname` may use; throws RefusedAddressError. */
  async addressesFor(hostname: string): Promise<LookupAddress[]> {
    const bare = hostname.replace(/^\[|\]$/g, '');
    const literal = isIP(bare);
    const answers = literal ? [{ address: bare, family: literal }] : await this.resolve(bare);
    if (answers.length === 0) throw Object.assign(new Error(`${bare} has no address`), { code: 'ENOTFOUND' });
    if (this.options.allowPrivateUrls) return answers;
    const nameProblem = literal ? null : hostnameProblem(bare);
    if (nameProblem) throw new RefusedAddressError(bare, bare, nameProblem);
    for (const answer of answers) {
      const problem = addressProblem(answer.address);
      if (problem) throw new RefusedAddressError(bare, answer.address, problem);
    }
    return answers;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private lookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
    this.addressesFor(hostname).then(
      (answers) => {
        if (options.all) callback(null, answers);
        else callback(null, answers[0]!.address, answers[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  }
}
