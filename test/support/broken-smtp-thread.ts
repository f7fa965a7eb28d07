/** A thread module that fails as it loads: a broken install, a missing file. */
throw new Error('broken on purpose');
