import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Queues } from '#queue';

/** Prometheus metrics of the API process: HTTP latency by route, and queue depths read at scrape time. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'ferry_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly httpErrors = new Counter({
    name: 'ferry_http_errors_total',
    help: 'HTTP responses with status >= 500',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  constructor(queues: Queues) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ferry_' });
    new Gauge({
      name: 'ferry_queue_depth',
      help: 'Jobs waiting, delayed or active per queue',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        const depths = await queues.depths().catch(() => null);
        if (!depths) return;
        for (const [queue, depth] of Object.entries(depths)) this.set({ queue }, depth);
      },
    });
  }
}
