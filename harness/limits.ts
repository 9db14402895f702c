// Bounds shared by the command line and the fixture reader.

/** Commands a run may have at most (--max-commands); bounds a fixture too. */
export const MAX_COMMANDS = 1000;
/** A fixture file larger than this is not read (a run of MAX_COMMANDS
 *  commands is a few hundred kilobytes). */
export const MAX_FIXTURE_BYTES = 4 << 20;
