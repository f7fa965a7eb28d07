import type { Stage } from './stage.js';

/** The person being nurtured, as the pure core sees them. */
export interface PostalAddress {
  line1: string;
  line2?: string | undefined;
  city: string;
  region?: string | undefined;
  postalCode: string;
  country: string;
}

/** The contact's stage (stored in `contacts.status`); see stage.ts. */
export type ContactStatus = Stage;

export interface Contact {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  timezone: string | null;
  address: PostalAddress | null;
  attributes: Record<string, unknown>;
  tags: string[];
  score: number;
  status: ContactStatus;
  unsubscribedAt: string | null;
  bouncedAt: string | null;
  /** Paused by an operator (`nurture contacts pause`): not enrolled anywhere until resumed. */
  pausedAt?: string | null | undefined;
  /** A mail piece came back (outcome `returned`): postcard and letter steps are skipped. */
  addressBadAt?: string | null | undefined;
}

/** The contact fields an event or an import gives (absent fields are unknown, not empty). */
export interface GivenContact {
  email: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
  phone?: string | undefined;
  timezone?: string | undefined;
  address?: PostalAddress | undefined;
  attributes?: Record<string, unknown> | undefined;
}

/** What a contact made from given fields alone holds: the fields, nulls for the rest, no tags. */
export function newContactFields(c: GivenContact): Pick<Contact, 'email' | 'firstName' | 'lastName' | 'phone' | 'timezone' | 'address' | 'attributes' | 'tags'> {
  return {
    email: c.email,
    firstName: c.firstName ?? null,
    lastName: c.lastName ?? null,
    phone: c.phone ?? null,
    timezone: c.timezone ?? null,
    address: c.address ?? null,
    attributes: c.attributes ?? {},
    tags: [],
  };
}

/** Fields a template may use, and whether every contact is sure to have them. */
export const TEMPLATE_FIELDS: Readonly<Record<string, 'always' | 'optional'>> = {
  email: 'always',
  firstName: 'optional',
  lastName: 'optional',
  phone: 'optional',
  address: 'optional',
  attributes: 'optional',
  tags: 'always',
};

/** The object templates are rendered with. */
export interface TemplateContext {
  email: string;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  address: PostalAddress | null;
  attributes: Record<string, unknown>;
  tags: string[];
  /** Signed links of the message (`{{links.unsubscribe}}`): set for emails, absent in previews and mail pieces. */
  links?: { unsubscribe: string; preferences: string; view: string } | undefined;
}

export function templateContextOf(c: Contact): TemplateContext {
  return {
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone,
    address: c.address,
    attributes: c.attributes,
    tags: c.tags,
  };
}
