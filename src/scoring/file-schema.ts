import { z } from 'zod';
import { scoringFileSchema } from './rules.js';

/**
 * schema/scoring.schema.json, for editors (`npm run schema`): completion and inline errors in
 * scoring.yaml with the YAML language server. Derived from the zod schema that validates the file
 * (its input side), so the two cannot drift; what JSON Schema cannot say (one test per rule,
 * declared groups, fall-backs below thresholds) is left to `nurture validate`.
 */
export function scoringJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(scoringFileSchema, { io: 'input', unrepresentable: 'any', target: 'draft-7' }),
    $id: 'urn:nurture:schema:scoring',
    title: 'Nurture scoring file',
    description: 'Lead scoring rules: fit from contact fields, engagement from events (with caps and a half-life), and the stage thresholds.',
  };
}

export function renderScoringJsonSchema(): string {
  return `${JSON.stringify(scoringJsonSchema(), null, 2)}\n`;
}
