import { App, Stack } from 'aws-cdk-lib';
import { PipelineDashboard, ReplayRole, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Operations');
const events = new StreamStore(stack, 'Events');
const replay = new StreamStore(stack, 'Replay');

// One dashboard row per stage given (here the stream only), with an alarm overview on top.
new PipelineDashboard(stack, 'Dashboard', { rawStream: events });

// What `npm run replay` needs to copy a time range of Events into Replay, and nothing more.
new ReplayRole(stack, 'ReplayRole', { sourceStreams: [events.stream], targetStreams: [replay.stream] });
