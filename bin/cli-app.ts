import { App, AppProps } from 'aws-cdk-lib';

/**
 * Context key that turns aws-cdk-lib's built-in CloudFormation validation back on during synth (`-c <key>=true`). It
 * is off by default: it took a third of the synth's CPU and only ever warns. `npm test` runs the same validation once
 * over every synthesized template instead (scripts/cdk-validate.js in `npm run cfn-lint`, where any finding fails).
 */
export const BUILTIN_VALIDATION_CONTEXT = 'cdk-streaming-patterns:builtinValidation';

/** The App of this repository's CDK apps: `props`, with the built-in validation as `BUILTIN_VALIDATION_CONTEXT` says. */
export function createCliApp(props: AppProps = {}): App {
  // Context (cdk.json, -c) is only readable from an App; this one only reads it (it never synthesizes). Passing the
  // setting to the real App keeps its templates exactly those of aws-cdk-lib's default, whichever way it is set.
  const builtinValidation = new App({ context: props.context, autoSynth: false }).node.tryGetContext(
    BUILTIN_VALIDATION_CONTEXT,
  );
  return new App({
    ...props,
    builtinCloudFormationValidation: builtinValidation === true || builtinValidation === 'true',
  });
}
