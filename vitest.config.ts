import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import pkg from './package.json' with { type: 'json' };

// SWC compiles the tests so NestJS and TypeORM get their decorator metadata; #lib imports resolve
// to the TypeScript sources (package.json `imports`, condition ferry-source) instead of dist/.
const plugins = [swc.vite({ jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false } } })];
const alias = Object.entries(pkg.imports).map(([find, target]) => ({
  find: new RegExp(`^${find}$`),
  replacement: fileURLToPath(new URL(target['ferry-source'], import.meta.url)),
}));
const resolve = { alias };

export default defineConfig({
  plugins,
  resolve,
  test: {
    globalSetup: ['libs/testing/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { plugins, resolve, extends: true, test: { name: 'unit', include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts'] } },
      { plugins, resolve, extends: true, test: { name: 'integration', include: ['apps/**/*.int-spec.ts', 'libs/**/*.int-spec.ts'] } },
      { plugins, resolve, extends: true, test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'] } },
    ],
  },
});
