import type { Kysely } from 'kysely';
import type { NewEnrollment } from '../db/enrollment-repository.js';
import { insertEnrollments } from '../db/enrollment-repository.js';
import type { Database } from '../db/schema.js';
import type { NewTask } from '../db/task-repository.js';
import { insertTasks } from '../db/task-repository.js';
import type { NewTouch } from '../db/touch-repository.js';
import { insertTouches } from '../db/touch-repository.js';

/**
 * Rows of new enrollments (which cannot collide with anything already stored) gathered across
 * a batch of events and written with one statement per table.
 */
export class WriteBuffer {
  enrollments: NewEnrollment[] = [];
  touches: NewTouch[] = [];
  tasks: NewTask[] = [];

  async flush(tx: Kysely<Database>): Promise<void> {
    const { enrollments, touches, tasks } = this;
    this.enrollments = [];
    this.touches = [];
    this.tasks = [];
    await insertEnrollments(tx, enrollments);
    await insertTouches(tx, touches);
    await insertTasks(tx, tasks);
  }
}
