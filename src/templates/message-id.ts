/** The domain of Message-IDs we make: the From address's, so a receiving server sees them as ours. */
export function messageIdDomain(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'nurture.local';
}
