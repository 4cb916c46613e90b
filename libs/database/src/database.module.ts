import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CONFIG, type FerryConfig } from '#config';
import { createAppDataSource } from './data-source.js';
import { TenantDb } from './tenant-db.js';

export const DATA_SOURCE = Symbol('DATA_SOURCE');

/** Provides the app-role DataSource and TenantDb. Migrations run before the app boots (see migrate()). */
@Global()
@Module({
  providers: [
    {
      provide: DATA_SOURCE,
      inject: [CONFIG],
      useFactory: async (config: FerryConfig) => createAppDataSource(config).initialize(),
    },
    { provide: TenantDb, inject: [DATA_SOURCE], useFactory: (dataSource: DataSource) => new TenantDb(dataSource) },
  ],
  exports: [DATA_SOURCE, TenantDb],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
