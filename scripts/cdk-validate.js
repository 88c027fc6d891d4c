#!/usr/bin/env node
// Runs aws-cdk-lib's built-in CloudFormation validation (the CloudFormationValidatePlugin that `cdk synth` runs by
// default, with its rules, exclusions and severities) over every stack of a cloud assembly, nested ones included.
// bin/app.ts turns it off during synth (it took a third of the synth's CPU); it runs here instead, once per `npm test`,
// next to cfn-lint: most of its rules are cfn-lint's, some are its own (security-group port order, EventBridge pattern
// matchers, FIFO names, write-only properties in outputs, sunset resource types). Any finding fails, warnings included.
// Usage: node scripts/cdk-validate.js [cdk.out]
'use strict';
const fs = require('fs');
const path = require('path');
const { CloudFormationValidatePlugin } = require('aws-cdk-lib');

/** Every stack of the assembly in `dir` as the plugin receives it from synth, nested assemblies included. */
function stacks(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const out = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    const props = artifact.properties ?? {};
    if (artifact.type === 'cdk:cloud-assembly') out.push(...stacks(path.join(dir, props.directoryName)));
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
    out.push({
      stackConstructPath: artifact.displayName ?? id,
      templatePath: path.join(dir, props.templateFile),
      accountId: account && account !== 'unknown-account' ? account : undefined,
      region: region && region !== 'unknown-region' ? region : undefined,
    });
  }
  return out;
}

function main() {
  const dir = process.argv[2] ?? 'cdk.out';
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    console.error(`no cloud assembly in ${dir}: run 'npm run synth' first`);
    process.exit(1);
  }
  const stackTemplates = stacks(dir);
  const plugin = new CloudFormationValidatePlugin();
  const report = plugin.validate({ templatePaths: stackTemplates.map((s) => s.templatePath), stackTemplates });
  for (const v of report.violations) {
    for (const r of v.violatingResources) {
      const where = `${path.relative(dir, r.templatePath)}${r.resourceLogicalId ? ` ${r.resourceLogicalId}` : ''}`;
      console.error(`${v.severity} ${v.ruleName} ${where}: ${v.description}`);
    }
  }
  if (report.violations.length > 0) {
    console.error(`aws-cdk-lib validation (${plugin.name} ${plugin.version}): ${report.violations.length} finding(s)`);
    process.exit(1);
  }
  console.log(`aws-cdk-lib validation (${plugin.name} ${plugin.version}): ${stackTemplates.length} template(s) clean`);
}

main();
