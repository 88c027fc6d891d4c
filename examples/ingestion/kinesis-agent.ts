import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  KinesisAgentIngestion,
  KinesisAgentLogFormat,
  KinesisAgentProcessor,
  StreamStore,
} from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'WebLogs');
const logs = new StreamStore(stack, 'Logs');
const agent = new KinesisAgentIngestion(stack, 'Agent', {
  stream: logs.stream,
  flows: [
    {
      filePattern: '/var/log/httpd/access_log*',
      dataProcessingOptions: [
        KinesisAgentProcessor.logToJson({ logFormat: KinesisAgentLogFormat.COMBINED_APACHE_LOG }),
      ],
    },
  ],
});
const webServerRole = new iam.Role(stack, 'WebServer', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
agent.grantTo(webServerRole);
// agent.documentName for `aws ssm send-command`, or agent.userData() for new instances
