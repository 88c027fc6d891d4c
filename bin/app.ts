#!/usr/bin/env node
import { addAppStacks } from './app-stacks';
import { createCliApp } from './cli-app';
import { applyNagChecks } from './nag';

// aws-cdk-lib's built-in template validation is off unless `-c cdk-streaming-patterns:builtinValidation=true`.
const app = createCliApp();
addAppStacks(app);

// The gate that matters on every synth: unacknowledged cdk-nag findings fail it.
applyNagChecks(app);
app.synth();
