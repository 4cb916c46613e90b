import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Provider, providerOf } from './accounts.js';
import { parseBehaviour } from './behaviour.js';
import type { ProviderPlayer, SimContext } from './context.js';
import { SimInputError, asRecord, jsonBody, optTime, repeatCount, reqString } from './input.js';
import { sentReport } from './state.js';
import type { WechatProvider } from './wechat/wechat.provider.js';

export interface ControlDeps {
  sim: SimContext;
  players: { [P in Provider]: ProviderPlayer<P> };
  wechat: WechatProvider;
  reset(): void;
}

function providerParam(request: FastifyRequest): Provider {
  const name = (request.params as { provider: string }).provider;
  const provider = providerOf(name);
  if (!provider) throw new SimInputError(`unknown provider ${name}`);
  return provider;
}

/** The control API under /_sim: accounts, inbound triggers, scripted behaviour, records, reset. */
export function controlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  const { sim, players } = deps;

  app.get('/_sim/health', async () => ({ ok: true }));

  app.post('/_sim/accounts', async (request, reply) => reply.code(201).send(sim.state.upsertAccount(jsonBody(request.body))));

  app.get('/_sim/accounts', async () => ({ accounts: sim.state.listAccounts() }));

  app.delete('/_sim/reset', async (_request, reply) => {
    deps.reset();
    return reply.code(204).send();
  });

  app.get('/_sim/wechat/tokens', async () => deps.wechat.tokenReport());

  app.post('/_sim/:provider/inbound', async (request) => {
    const provider = providerParam(request);
    const body = jsonBody(request.body);
    if (body['account'] === undefined) throw new SimInputError('account is required (an account id, or {hookUrl, ...secrets})');
    const account = sim.state.resolveAccount(provider, body['account']);
    const message = body['message'] === undefined ? {} : asRecord(body['message'], 'message');
    // Each player's inbound takes its own account type; the provider check in resolveAccount guarantees the match.
    const player = players[provider] as ProviderPlayer;
    return player.inbound(account as never, message, repeatCount(body));
  });

  app.get('/_sim/:provider/behaviour', async (request) => sim.behaviours.get(providerParam(request)));

  app.post('/_sim/:provider/behaviour', async (request) => {
    const provider = providerParam(request);
    const behaviour = parseBehaviour(provider, jsonBody(request.body));
    sim.behaviours.set(provider, behaviour);
    return behaviour;
  });

  app.get('/_sim/:provider/sent', async (request) => sentReport(sim.state.sentOf(providerParam(request))));

  app.post('/_sim/:provider/users', async (request) => {
    const provider = providerParam(request);
    const body = jsonBody(request.body);
    const account = sim.state.resolveAccount(provider, reqString(body, 'account'));
    const user = sim.state.user(account.id, reqString(body, 'user'));
    if (body['lastInboundAt'] === null) user.lastInboundAt = undefined;
    else if (body['lastInboundAt'] !== undefined) {
      user.lastInboundAt = optTime(body, 'lastInboundAt');
      user.sentSinceInbound = 0;
    }
    if (typeof body['sentSinceInbound'] === 'number') user.sentSinceInbound = body['sentSinceInbound'];
    if (typeof body['blocked'] === 'boolean') user.blocked = body['blocked'];
    return user;
  });

  app.post('/_sim/:provider/receipts', async (request) => {
    const provider = providerParam(request);
    const player = players[provider] as ProviderPlayer;
    if (!player.receipt) throw new SimInputError(`${provider} posts no delivery receipts`);
    const body = jsonBody(request.body);
    const deliveries = await player.receipt(reqString(body, 'providerMessageId'), reqString(body, 'status'), repeatCount(body));
    return { ...deliveries[0]!, deliveries };
  });

  app.post('/_sim/:provider/handshake', async (request) => {
    const provider = providerParam(request);
    const player = players[provider] as ProviderPlayer;
    if (!player.handshake) throw new SimInputError(`${provider} has no hook handshake`);
    const body = jsonBody(request.body);
    const account = sim.state.resolveAccount(provider, body['account']);
    return player.handshake(account as never, body);
  });
}
