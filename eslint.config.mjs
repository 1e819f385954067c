// @ts-check
// Lint for src/, test/, bench/ and console/ (`npm run lint`, a stage of .ci/run): typescript-eslint's
// type-checked recommendations, with Prettier owning the layout (eslint-config-prettier turns off the rules it
// would fight). Every rule turned off below says why it does not fit this codebase.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Migrations are history, never edited once written (developers' guide); the rest is built or local state.
  { ignores: ['dist/', 'coverage/', '.data/', '.test-data/', 'bench/.work/', 'migrations/'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      parserOptions: {
        // tsconfig.json covers src, test and bench; console/tsconfig.json the console; the rest are config files.
        projectService: {
          allowDefaultProject: ['*.js', '*.mjs', 'console/vite.config.mts', 'test/openapi/*.mjs'],
          defaultProject: 'console/tsconfig.node.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    rules: {
      // `async` without `await` is how this code implements a promise-returning interface (Nest commands, Fastify
      // hooks, the fakes tests hand to the EnKash client): it also turns a throw into a rejection, which the
      // rule's fix (drop `async`, return Promise.resolve) would change into a synchronous throw.
      '@typescript-eslint/require-await': 'off',
      // `const { field: _field, ...rest } = x` is how the code and tests drop a field.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // A promise that settles with what a batch threw passes on the caught value as it is (group-commit.ts).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Tests and benchmarks read the service's JSON answers (`res.body`, `await r.json()`) and OpenAPI documents as
    // `any` and check them with expect() or a verdict, which fails loudly on a wrong shape: typing every answer
    // again would copy the DTOs into the tests, and the generated-client test already checks the typed path.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Compiled by generated-client.spec.ts alone, against types generated from the live document; the file says
    // why the project's own compile must skip it.
    files: ['test/openapi/client-program.ts'],
    rules: { '@typescript-eslint/ban-ts-comment': ['error', { 'ts-nocheck': 'allow-with-description' }] },
  },
  {
    files: ['console/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
  {
    // After eslint-config-prettier, which turns max-len off: Prettier keeps code at 140 columns but leaves long
    // strings, template literals and comments as they are, so this catches those.
    rules: { 'max-len': ['error', { code: 140, tabWidth: 2 }] },
  },
);
