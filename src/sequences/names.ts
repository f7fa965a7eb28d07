/** The shapes of names people write, in one place: sequence and step ids, templates, event types. */

/** Sequence and step ids: lower-case letters, digits, "-" and "_". */
export const SLUG = /^[a-z0-9][a-z0-9_-]*$/;
/** Template names: slugs, with "/" for subfolders of the templates directory. */
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/;
/** Event types, built-in or the producer's own. */
export const EVENT_TYPE = /^[a-z][a-z0-9_.:-]{0,63}$/;
export const EVENT_TYPE_HINT = 'lower-case letters, digits, "_", ".", ":", "-"';
