import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ConfigModule, type FerryConfig } from '#config';
import { DatabaseModule } from '#database';
import { QueueModule } from '#queue';
import { IdentityModule } from '#identity';
import { MessagingModule } from '#messaging';
import { WebhooksModule } from '#webhooks';
import { BillingModule } from '#billing';
import { AuthGuard } from './auth/auth.guard.js';
import { ProblemFilter } from './http/problem.filter.js';
import { createValidationPipe } from './http/validation.pipe.js';
import { RateLimiter } from './http/rate-limiter.js';
import { IdempotencyInterceptor } from './http/idempotency.interceptor.js';
import { IdempotencyStore } from './http/idempotency.store.js';
import { Metrics } from './ops/metrics.js';
import { OpsController } from './ops/ops.controller.js';
import { IDENTITY_CONTROLLERS } from './identity/identity.routes.js';
import { SETTINGS_CONTROLLERS } from './settings/settings.routes.js';
import { CONVERSATION_CONTROLLERS } from './conversations/conversations.routes.js';
import { HooksController } from './hooks/hooks.controller.js';
import { WEBHOOK_CONTROLLERS } from './webhooks/webhooks.routes.js';
import { LiveGateway } from './live/live.gateway.js';
import { BillingController } from './billing/billing.controller.js';
import { StripeHookController } from './billing/stripe-hook.controller.js';

/** The HTTP application: controllers only; every behaviour lives in a lib. */
@Module({})
export class AppModule {
  static forRoot(config: FerryConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule, IdentityModule, MessagingModule, WebhooksModule, BillingModule.forRoot(config)],
      controllers: [
        OpsController, ...IDENTITY_CONTROLLERS, ...SETTINGS_CONTROLLERS, ...CONVERSATION_CONTROLLERS, ...WEBHOOK_CONTROLLERS, HooksController,
        BillingController, StripeHookController,
      ],
      providers: [
        RateLimiter,
        IdempotencyStore,
        Metrics,
        LiveGateway,
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    };
  }
}
