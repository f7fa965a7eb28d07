import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import pg from 'pg';
import { withApp } from '../src/app/composition-root.js';
import { importContacts } from '../src/app/import-contacts.js';
import { loadConfig } from '../src/config.js';

/**
 * `nurture contacts import` on a generated CSV of `rows` rows (email, names, phone, zone, city
 * and an attribute column) into a scratch database: rows per second, parse to commit.
 */
export async function benchImport(adminUrl: string, rows: number): Promise<{ rate: number; seconds: number; imported: number }> {
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'nurture-bench-import-'));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  try {
    const file = path.join(dir, 'contacts.csv');
    const lines = ['Email,First Name,Last Name,Phone,Timezone,Plan'];
    for (let i = 0; i < rows; i++) lines.push(`person-${i}@example.com,First${i},"Last, ${i}",+1555555${String(i % 10000).padStart(4, '0')},America/Chicago,plan-${i % 3}`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    const config = loadConfig({ DATABASE_URL: url.toString(), NURTURE_DATA_DIR: dir, NURTURE_LOG_LEVEL: 'warn' });
    const s = await withApp(config, (app) =>
      importContacts(app, { name: file, stream: createReadStream(file) }, { map: { 'attributes.plan': 'Plan' }, source: 'bench', enroll: false }, DateTime.utc()),
    );
    if (s.imported !== rows || s.invalid.length > 0) throw new Error(`expected ${rows} imported and none invalid, got ${s.imported} and ${s.invalid.length} invalid`);
    return { rate: rows / s.seconds, seconds: s.seconds, imported: s.imported };
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
}
