import type { Command } from 'commander';
import { withReadDb } from '../app/composition-root.js';
import type { ConsentHistory } from '../queries/consent-history.js';
import { consentHistory } from '../queries/consent-history.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, table, truncate } from './format.js';
import { action, config } from './shared.js';

/** `nurture contacts consent EMAIL`: the proof of consent of an address (src/queries/consent-history.ts). */

export function consentText(h: ConsentHistory, zone?: string): string {
  const at = (iso: string | null) => (iso ? formatInstant(new Date(iso), zone) : '-');
  const lines = [`${h.email}: consent history, ${h.records.length} record(s)${h.contactId ? '' : ' (no contact row: erased, or never applied)'}`];
  if (h.records.length > 0) {
    const rows = h.records.map((r) => [
      at(r.at),
      r.kind,
      r.source,
      r.formId ? `${r.formId}@${r.formVersion ?? '?'}` : '-',
      r.ip ?? '-',
      r.userAgent ? truncate(r.userAgent, 40) : '-',
    ]);
    lines.push('', ...table(['AT', 'KIND', 'SOURCE', 'FORM', 'IP', 'USER AGENT'], rows));
    const worded = h.records.filter((r) => r.wording || r.wordingHash);
    const seen = new Set<string>();
    for (const r of worded) {
      const key = r.wordingHash ?? r.wording ?? '';
      if (seen.has(key)) continue;
      seen.add(key);
      lines.push('', `  wording agreed to (sha256 ${r.wordingHash ?? '-'}):`, `    ${r.wording ?? '(text not kept)'}`);
    }
  }
  if (h.pendingOptIns.length > 0) {
    const rows = h.pendingOptIns.map((p) => [`${p.formId}@${p.formVersion}`, p.status, at(p.createdAt), at(p.expiresAt), at(p.confirmedAt ?? p.expiredAt)]);
    lines.push('', 'Double opt-ins', ...table(['FORM', 'STATUS', 'SENT', 'EXPIRES', 'CONFIRMED / EXPIRED'], rows));
  }
  return lines.join('\n');
}

export async function showConsent(email: string): Promise<Rendered<ConsentHistory>> {
  const data = await withReadDb(config(), (db) => consentHistory(db, email));
  return { data, text: consentText(data) };
}

export function registerConsent(contacts: Command): void {
  contacts
    .command('consent')
    .description('the consent history of an address: opt-ins, confirmations, expiries, unsubscribes, with form, IP, user agent and wording')
    .argument('<email>', 'the address (matched case-insensitively; found after an erase too)')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { json?: boolean }) => {
        emit(await showConsent(email), o.json);
      }),
    );
}
