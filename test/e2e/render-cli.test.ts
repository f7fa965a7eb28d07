import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildCli, runCli } from '../support/cli.js';

/** `nurture render` and `nurture send-test` as users run them: the compiled CLI, no services. */
describe('nurture render and send-test', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  const templates = path.join(ROOT, 'examples/templates');
  const cli = (...args: string[]) => runCli(args, { env, cwd: work });

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-render-cli-'));
    env = { PATH: process.env.PATH, NURTURE_DATA_DIR: path.join(work, '.nurture'), NURTURE_FROM: 'Example Co. <hello@example.com>' };
    await writeFile(path.join(work, 'zed.json'), JSON.stringify({ email: 'zed@example.com', firstName: 'Zed', timezone: 'Europe/Paris' }));
    await writeFile(path.join(work, 'typo.hbs'), '---\nsubject: Hi\n---\n<p>{{contact.frstName}}</p>\n');
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('prints subject, text and HTML as JSON for a contact file', async () => {
    const r = await cli('render', 'welcome', '--templates', templates, '--contact', 'zed.json', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { template: string; to: string; subject: string; text: string; html: string; problems: unknown[] };
    expect(out).toMatchObject({ template: 'welcome', to: 'zed@example.com', subject: 'Welcome, Zed: your guide is on its way', problems: [] });
    expect(out.html).toContain('<p>Hi Zed,</p>');
    expect(out.html).toContain('Example Co.');
    expect(out.text).toContain('Hi Zed,');
  });

  it('refuses a template validate refuses, with its file and line, exit 1', async () => {
    const r = await cli('render', 'typo', '--templates', work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(work, 'typo.hbs')}:4: html: unknown variable {{contact.frstName}}`);
    expect(r.stderr).not.toContain('    at ');
  });

  it('sends a test message to the outbox without SMTP_URL, and refuses an address that is none', async () => {
    const r = await cli('send-test', 'monthly-value', '--templates', templates, '--to', 'me@example.com');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sent "This month: one idea worth your time" (monthly-value) to me@example.com via outbox');
    const outbox = path.join(work, '.nurture/outbox');
    const days = await readdir(outbox);
    const files = await readdir(path.join(outbox, days[0]!));
    const eml = await readFile(path.join(outbox, days[0]!, files[0]!), 'utf8');
    expect(eml).toContain('To: me@example.com');
    expect(eml).toContain('Content-Type: text/plain');

    const bad = await cli('send-test', 'welcome', '--templates', templates, '--to', 'nobody');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('nurture: --to: "nobody" is not an email address\n');
  });
});
