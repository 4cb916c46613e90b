import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'apps/dashboard/dist/**', '.ferry/**'] },
  js.configs.recommended,
  {
    files: ['scripts/**/*.mjs', 'docker/**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly' } },
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'No default exports (house rule).' },
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Read configuration in libs/config only.' },
      ],
    },
  },
  {
    // libs/config is the one place that reads the environment.
    files: ['libs/config/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Libs speak DomainError; HTTP is the api app's business.
    files: ['libs/**/*.ts'],
    ignores: ['libs/testing/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: '@nestjs/common', importNames: ['HttpException', 'BadRequestException', 'NotFoundException', 'UnauthorizedException', 'ForbiddenException', 'ConflictException'], message: 'Throw DomainError in libs.' }] }],
    },
  },
  {
    // Vitest's global setup and tool configs are loaded by their tools, which want a default export.
    files: ['libs/testing/src/global-setup.ts', 'vitest.config.ts', 'eslint.config.js'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
