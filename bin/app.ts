#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { applyNagChecks } from './nag';
import { StreamingFoundationStack } from '../lib/stacks';

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

new StreamingFoundationStack(app, 'StreamingFoundation', { env });

applyNagChecks(app);
app.synth();
