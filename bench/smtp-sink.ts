/**
 * An SMTP server that answers every message at once and only counts them, run as a child
 * process of the bench (fork) so it does not share the engine's event loop. It tells its port
 * when listening, and its count whenever asked.
 */
import { SMTPServer } from 'smtp-server';

let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      callback();
    });
  },
});
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('message', (m: { ask?: string }) => {
  if (m.ask === 'count') process.send?.({ received });
  if (m.ask === 'stop') server.close(() => process.exit(0));
});
