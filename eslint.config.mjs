import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-jsii/',
      'cdk.out/',
      'cdk.out.again/',
      'cdk.out.optional/',
      'cdk.out.examples/',
      'coverage/',
      'flink-apps/',
      '.venv/',
      '**/*.js',
      '**/*.mjs',
      'test/package-consumer/',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...layerImportRules(),
);

/**
 * The layer folders of lib/ in order: a folder may import from `internal` and from the folders before it, never from
 * one after it, nor from itself through the lib/ barrel. `internal` imports no layer folder.
 */
function layerImportRules() {
  const layers = ['source', 'ingestion', 'storage', 'processing', 'destination', 'operations', 'patterns', 'stacks'];
  // A barrel above the importing folder ('..', '../index', '../..'): lib/index.ts re-exports every layer, and a layer's
  // own barrel re-exports the modules that import its sub-folders, so either makes a cycle. Import the module itself.
  const barrel = {
    regex: '^\\.\\.(/\\.\\.)*(/index)?/?$',
    message: 'Import the module itself, not a barrel above this folder (lib/index.ts re-exports every layer).',
  };
  const restrict = (folder, forbidden, why) => ({
    files: [`lib/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(forbidden.length === 0 ? [] : [{ regex: `^(\\.\\./)+(${forbidden.join('|')})(/.*)?$`, message: why }]),
            barrel,
          ],
        },
      ],
    },
  });
  const order = layers.join(' -> ');
  return [
    restrict('internal', layers, `lib/internal is below every layer and imports none of them (${order}).`),
    ...layers.map((folder, i) =>
      restrict(
        folder,
        layers.slice(i + 1),
        `lib/${folder} may import lib/internal and the layers before it only (${order}).`,
      ),
    ),
  ];
}
