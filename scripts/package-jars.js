#!/usr/bin/env node
// Copies the shaded Flink jars into jars/ with their SHA-256 in jars/SHA256SUMS, for `npm pack` and `npm publish`
// (prepack): the published package ships them so that `cdk synth` of both stacks needs no JDK or Maven
// (`FlinkCode.fromPackage`). `--clean` removes jars/ again (postpack), so a checkout always synthesizes its own
// Maven build. The jars are reproducible (project.build.outputTimestamp), so the sums are the same on every build.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'jars');
const APPLICATIONS = ['timeseries-enrichment', 'stateful-functions'];

if (process.argv.includes('--clean')) {
  fs.rmSync(out, { recursive: true, force: true });
  process.exit(0);
}
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out);
const sums = [];
for (const app of APPLICATIONS) {
  const jar = path.join(root, 'flink-apps', app, 'target', `${app}.jar`);
  if (!fs.existsSync(jar)) {
    console.error(
      `${jar} is missing: build the Flink applications first (npm run main, or mvn -f flink-apps/pom.xml -DskipTests package)`,
    );
    process.exit(1);
  }
  const bytes = fs.readFileSync(jar);
  fs.writeFileSync(path.join(out, `${app}.jar`), bytes);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  sums.push(`${sha}  ${app}.jar`);
  console.log(`jars/${app}.jar ${(bytes.length / 1e6).toFixed(2)} MB sha256 ${sha}`);
}
// The format `sha256sum -c` reads.
fs.writeFileSync(path.join(out, 'SHA256SUMS'), sums.join('\n') + '\n');
