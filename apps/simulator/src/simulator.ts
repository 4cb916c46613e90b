import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { SMTPServer } from 'smtp-server';
import type { Provider } from './accounts.js';
import { Behaviours } from './behaviour.js';
import type { ProviderPlayer, SimContext } from './context.js';
import { controlRoutes } from './control.routes.js';
import { EmailProvider } from './email/email.provider.js';
import { HookClient } from './hook-client.js';
import { SimInputError } from './input.js';
import { LineProvider } from './line/line.provider.js';
import { SimState } from './state.js';
import { StripeSimulator } from './stripe/stripe.simulator.js';
import { TelegramProvider } from './telegram/telegram.provider.js';
import { TwilioProvider } from './twilio/twilio.provider.js';
import { WechatProvider } from './wechat/wechat.provider.js';
import { WhatsappProvider } from './whatsapp/whatsapp.provider.js';

export interface ListenOptions {
  /** HTTP port (0: ephemeral). */
  port: number;
  /** SMTP port (0: ephemeral). */
  smtpPort: number;
  host?: string;
}

export interface SimulatorAddress {
  baseUrl: string;
  port: number;
  smtpPort: number;
}

/**
 * Every provider Ferry talks to, on one HTTP port (each provider's real paths, auth and error bodies,
 * plus the /_sim control API) and one SMTP port. Used by the end-to-end tests, the benchmarks and the demo.
 */
export class Simulator {
  readonly app: FastifyInstance;
  private readonly sim: SimContext;
  private readonly wechat: WechatProvider;
  private readonly line: LineProvider;
  private readonly telegram: TelegramProvider;
  readonly stripe: StripeSimulator;
  private readonly smtp: SMTPServer;
  private smtpListening = false;

  constructor(options: { logger?: FastifyBaseLogger } = {}) {
    // Request lines are left out: a benchmark pushes thousands of calls through here.
    this.app = options.logger ? Fastify({ loggerInstance: options.logger, logController: new LogController({ disableRequestLogging: true }) }) : Fastify({ logger: false });
    this.sim = { state: new SimState(), behaviours: new Behaviours(), hooks: new HookClient(this.app.log), log: this.app.log };
    this.wechat = new WechatProvider(this.sim);
    this.line = new LineProvider(this.sim);
    this.telegram = new TelegramProvider(this.sim);
    const email = new EmailProvider(this.sim);
    const players: { [P in Provider]: ProviderPlayer<P> } = {
      whatsapp: new WhatsappProvider(this.sim),
      wechat: this.wechat,
      sms: new TwilioProvider(this.sim),
      line: this.line,
      telegram: this.telegram,
      email,
    };
    this.smtp = email.smtpServer();
    this.stripe = new StripeSimulator(this.sim);

    // Every provider reads its own body format (JSON, form, XML) and answers a bad one in its own words.
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    this.app.setErrorHandler((error, _request, reply) => {
      if (error instanceof SimInputError) return reply.code(400).send({ error: error.message });
      this.sim.log.error({ err: error }, 'simulator error');
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      return reply.code(status).send({ error: error instanceof Error ? error.message : String(error) });
    });
    for (const player of Object.values(players)) player.routes(this.app);
    this.stripe.routes(this.app);
    controlRoutes(this.app, { sim: this.sim, players, wechat: this.wechat, reset: () => this.reset() });
  }

  async listen(options: ListenOptions): Promise<SimulatorAddress> {
    const host = options.host ?? '127.0.0.1';
    await this.app.listen({ port: options.port, host });
    const port = (this.app.server.address() as AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      this.smtp.once('error', reject);
      this.smtp.listen(options.smtpPort, host, () => {
        this.smtp.off('error', reject);
        resolve();
      });
    });
    this.smtpListening = true;
    const smtpPort = (this.smtp.server.address() as AddressInfo).port;
    const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return { baseUrl: `http://${urlHost}:${port}`, port, smtpPort };
  }

  /** Forgets every account, record, scripted behaviour and pending receipt. */
  reset(): void {
    this.sim.hooks.cancelAll();
    this.sim.state.reset();
    this.sim.behaviours.reset();
    this.wechat.reset();
    this.line.reset();
    this.telegram.reset();
    this.stripe.reset();
  }

  async close(): Promise<void> {
    this.sim.hooks.cancelAll();
    if (this.smtpListening) {
      this.smtpListening = false;
      await new Promise<void>((resolve) => this.smtp.close(() => resolve()));
    }
    await this.app.close();
  }
}
