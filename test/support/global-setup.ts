import { requireServices } from './services.js';

/** Runs once before all test files: the services must answer, or the run stops with how to start them. */
export default async function setup(): Promise<void> {
  await requireServices();
}
