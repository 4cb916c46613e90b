import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { FerryConfig } from './config.js';

export const CONFIG = Symbol('FERRY_CONFIG');

/** Makes the one validated FerryConfig injectable as CONFIG. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: FerryConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: CONFIG, useValue: config }], exports: [CONFIG] };
  }
}
