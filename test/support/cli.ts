import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

let built = false;
/**
 * The end-to-end tests run what users run: the compiled CLI. Build it once per test process, and
 * not at all when dist/ is already newer than every source (as `npm ci` or another test file of
 * this run left it): a build costs up to a minute on a busy machine.
 */
export function buildCli(): void {
  if (built || distIsCurrent()) {
    built = true;
    return;
  }
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  built = true;
}

/** Every src/**\/*.ts has its dist/**\/*.js, written after it and after the tsconfigs changed. */
function distIsCurrent(): boolean {
  const configs = Math.max(...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(path.join(ROOT, f)).mtimeMs));
  const src = path.join(ROOT, 'src');
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const out = path.join(ROOT, 'dist', path.relative(src, file)).replace(/\.ts$/, '.js');
    if (!existsSync(out)) return false;
    const built = statSync(out).mtimeMs;
    if (built < statSync(file).mtimeMs || built < configs) return false;
  }
  return true;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; input?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: opts.env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export interface Daemon {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Starts a long-running CLI command (nurture start) and resolves once it logs that it is running. */
export async function startDaemon(args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; readyText?: string }): Promise<Daemon> {
  const child = spawn(process.execPath, [CLI, ...args], { env: opts.env, cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = opts.readyText ?? 'nurture is running';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nurture did not start within 30 s:\n${out}`)), 30_000);
    const onData = (): void => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`nurture exited (code ${code}) before it was running:\n${out}`));
    });
  });
  return { child, output: () => out, exited };
}
