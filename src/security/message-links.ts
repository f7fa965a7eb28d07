import type { Config } from '../config.js';
import { resolveSecrets } from './secrets.js';
import { TokenSigner } from './signed-token.js';
import type { TokenPurpose } from './signed-token.js';

/**
 * Who a link in a message is about: the email touch it was sent in (most links), or the
 * contact alone (a confirmation email before any touch exists).
 */
export type LinkSubject = { touchId: string } | { contactId: string };

export function encodeSubject(s: LinkSubject): string {
  return 'touchId' in s ? `t.${s.touchId}` : `c.${s.contactId}`;
}

export function decodeSubject(payload: string): LinkSubject | undefined {
  const m = /^([tc])\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(payload);
  if (!m) return undefined;
  return m[1] === 't' ? { touchId: m[2]! } : { contactId: m[2]! };
}

/** The links every message may carry ({{links.*}} in templates). */
export interface StandardLinks {
  unsubscribe: string;
  preferences: string;
  view: string;
}

/**
 * Builds the signed links Nurture puts in mail and reads them back. The signer is resolved on
 * first use, so a command that never builds a link (stats, tasks) does not need NURTURE_SECRET.
 */
export class MessageLinks {
  private signerCache: TokenSigner | undefined;
  private listeningAt: string | undefined;

  constructor(
    private readonly config: Pick<Config, 'secrets' | 'databaseUrl' | 'dataDir'> & { http: Pick<Config['http'], 'publicUrl'> },
    signer?: TokenSigner,
  ) {
    this.signerCache = signer;
  }

  get publicUrl(): string {
    return this.listeningAt ?? this.config.http.publicUrl;
  }

  /** The server's own address stands in for an unset NURTURE_PUBLIC_URL once it listens (port 0 picks one). */
  listening(url: string): void {
    this.listeningAt = url;
  }

  get signer(): TokenSigner {
    return (this.signerCache ??= new TokenSigner(resolveSecrets(this.config)));
  }

  /** `NURTURE_PUBLIC_URL/<route>/<token>`. */
  url(route: string, purpose: TokenPurpose, payload: string, suffix = ''): string {
    return `${this.publicUrl}/${route}/${this.signer.sign(purpose, payload)}${suffix}`;
  }

  standard(subject: LinkSubject): StandardLinks {
    const payload = encodeSubject(subject);
    return {
      unsubscribe: this.url('u', 'unsubscribe', payload),
      preferences: this.url('p', 'preferences', payload),
      view: this.url('v', 'view', payload),
    };
  }

  /** The subject of a token signed for `purpose`; undefined when the token does not verify. */
  subjectOf(purpose: TokenPurpose, token: string): LinkSubject | undefined {
    const payload = this.signer.verify(purpose, token);
    return payload === undefined ? undefined : decodeSubject(payload);
  }
}
