/**
 * The real SMTP thread, except that a message with the subject "die" ends the thread with exit
 * code 7 before it is sent, any probe with exit code 9, and close with exit code 8 once a message
 * with the subject "die-at-close" was sent: what a crash in a thread (out of memory, a bug in a
 * library) does.
 */
import { parentPort } from 'node:worker_threads';
import type { ToThread } from '../../src/templates/smtp-thread-protocol.js';

// The real thread's listener first: the port delivers to the listeners it has when a message
// arrives. That listener only starts the work; the exit below comes before any of its I/O.
await import('../../src/templates/smtp-thread.js');
let dieAtClose = false;
parentPort!.on('message', (m: ToThread) => {
  if (m.kind === 'send' && m.mail.subject === 'die') process.exit(7);
  if (m.kind === 'send' && m.mail.subject === 'die-at-close') dieAtClose = true;
  if (m.kind === 'probe') process.exit(9);
  if (m.kind === 'close' && dieAtClose) process.exit(8);
});
