#!/usr/bin/env node
'use strict';
// Starts s3rver's command line with one more key pair, the local account's (000000000000 / local), next to its fixed
// S3RVER / S3RVER: every local client and the Flink apps then use one set of credentials for every server.
const path = require('path');
const s3rver = path.dirname(require.resolve('s3rver/package.json'));
require(path.join(s3rver, 'lib', 'models', 'account')).DUMMY_ACCOUNT.createKeyPair('000000000000', 'local');
require(path.join(s3rver, 'bin', 's3rver.js'));
