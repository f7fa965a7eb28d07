import type { Config } from '../config.js';
import { resolveSecrets } from './secrets.js';
import { TokenSigner } from './signed-token.js';
import type { TokenPurpose } from './signed-token.js';

/**
 * Who a link in a message is about: the email touch it was sent in (most links), or the
 * contact alone (a confirmation email before any touch exists). A touch's links also name its
 * contact, so they still reach the person once the touch's month is past
 * NURTURE_TOUCHES_RETENTION and dropped: an unsubscribe keeps working in mail of any age. Links
 * minted before that carry the touch alone.
 */
export type LinkSubject = { touchId: string; contactId?: string } | { contactId: string };

/** The subject of the links in the message of `touch`. */
export function touchSubject(touch: { id: string; contact_id: string }): LinkSubject {
  return { touchId: touch.id, contactId: touch.contact_id };
}

export function encodeSubject(s: LinkSubject): string {
  if (!('touchId' in s)) return `c.${s.contactId}`;
  return s.contactId === undefined ? `t.${s.touchId}` : `t.${s.touchId}.${s.contactId}`;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const SUBJECT = new RegExp(`^(?:t\\.(${UUID})(?:\\.(${UUID}))?|c\\.(${UUID}))$`);

export function decodeSubject(payload: string): LinkSubject | undefined {
  const m = SUBJECT.exec(payload);
  if (!m) return undefined;
  if (m[3] !== undefined) return { contactId: m[3] };
  return m[2] === undefined ? { touchId: m[1]! } : { touchId: m[1]!, contactId: m[2] };
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

  /** All three, signed now (a page that shows one link asks `lazy` instead). */
  standard(subject: LinkSubject): StandardLinks {
    return { ...this.lazy(subject).links };
  }

  /**
   * The links, each signed when first read and kept: a message pays for the links it shows (and
   * the unsubscribe link of its header), not for all three, twice. A signature was a tenth of the
   * engine's CPU per email in the burst bench. `made` lists the links read so far: the only ones a
   * rendered message can hold.
   */
  lazy(subject: LinkSubject): { links: StandardLinks; made: () => string[] } {
    const payload = encodeSubject(subject);
    const memo: Partial<StandardLinks> = {};
    const link = (name: keyof StandardLinks, route: string, purpose: TokenPurpose): string => (memo[name] ??= this.url(route, purpose, payload));
    const links: StandardLinks = {
      get unsubscribe() {
        return link('unsubscribe', 'u', 'unsubscribe');
      },
      get preferences() {
        return link('preferences', 'p', 'preferences');
      },
      get view() {
        return link('view', 'v', 'view');
      },
    };
    return { links, made: () => Object.values(memo) };
  }

  /** The subject of a token signed for `purpose`; undefined when the token does not verify. */
  subjectOf(purpose: TokenPurpose, token: string): LinkSubject | undefined {
    const payload = this.signer.verify(purpose, token);
    return payload === undefined ? undefined : decodeSubject(payload);
  }
}
