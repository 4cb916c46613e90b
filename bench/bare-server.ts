import { fastify } from 'fastify';

/**
 * The baseline: a bare Fastify route answering a small JSON, in its own process like the API, so
 * the table can show what the framework and the machine cost before Ferry does any work.
 */
async function main(): Promise<void> {
  const app = fastify({ logger: false });
  app.get('/ping', async () => ({ ok: true, service: 'bare' }));
  const port = Number(process.argv[2] ?? 0);
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : port });
  process.on('disconnect', () => {
    void app.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
