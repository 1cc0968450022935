// Линтер ловит реальные ошибки (CONVENTIONS, «Lint that catches real bugs») и
// закрепляет направление зависимостей core ← adapters ← services.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const serviceNames = ['admin-module', 'storage-element', 'ingester-module', 'query-module'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.data/**', 'apps/admin-ui/**', '**/*.mjs', 'bench/.work/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // describe/it из node:test возвращают промисы, которые ждёт сам раннер.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    files: ['packages/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@artstore/*'], message: 'core ничего не импортирует из других пакетов' }] }],
    },
  },
  {
    files: ['packages/adapters/**/*.ts', 'packages/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@artstore/*', '!@artstore/core', '!@artstore/core/*'], message: 'adapters/contracts импортируют только core' }] }],
    },
  },
  {
    files: ['services/*/src/**/*.ts'],
    ignores: ['services/*/src/main.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: serviceNames.map((s) => `@artstore/${s}`), message: 'сервисы не импортируют друг друга — только HTTP' },
        { group: ['@artstore/adapters'], message: 'адаптеры выбираются только в main.ts (wiring)' },
      ] }],
    },
  },
  {
    files: ['**/*.test.ts', 'tests/**/*.ts', 'bench/**/*.ts', 'services/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
