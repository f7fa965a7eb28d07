import { InputError } from '../errors.js';

/**
 * Where `nurture users add|passwd` get the password: typed at a terminal without echo (twice),
 * or read from standard input when it is not a terminal or `--password-stdin` says so (one line;
 * the final newline is not part of it). Never from a flag: flags end up in shell history and `ps`.
 */

export async function readPassword(o: { fromStdin: boolean; prompt: string }): Promise<string> {
  const stdin = process.stdin;
  if (o.fromStdin || !stdin.isTTY) return readAllStdin();
  const first = await promptHidden(o.prompt);
  const second = await promptHidden('Repeat it: ');
  if (first !== second) throw new InputError('the two passwords differ: nothing was changed');
  return first;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.replace(/\r?\n$/, '');
  if (line.includes('\n')) throw new InputError('standard input has more than one line: give the password alone, on one line');
  return line;
}

/** Reads one line from the terminal in raw mode, echoing nothing. Ctrl-C or Ctrl-D aborts. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new InputError('no password given: cancelled'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
